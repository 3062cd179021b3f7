"""What a password must be (OWASP ASVS 2.1, NIST SP 800-63B 5.1.1.2), checked wherever one
is set: a person's own change, an administrator's create or reset (web and ``flask users
create``), the demo.

- 12 to 128 characters, any characters at all (spaces, accents, emoji); nothing else is
  demanded (no "one digit and one symbol": those rules make passwords worse, not better).
- Not guessable: zxcvbn (Dropbox's estimator, with its own offline lists of the most common
  passwords, words, names and keyboard patterns) must estimate at least 10^8 guesses
  (its score 3, "safely unguessable: moderate protection from an offline slow-hash attack").
  The account's e-mail address, its name, its congregation's and the service's name are the
  words an attacker tries first: they are taken out before scoring ("Beth Shalom
  Congregation 2024" is scored as "2024").  So ``password1234``, ``aaaaaaaaaaaa``, twelve
  spaces and ``mary.smith@example.org2024`` are refused; four unrelated words are not.
- Not the e-mail address (nor its part before the @), and not the current password.

zxcvbn's time grows with the length and the number of look-alike characters (``4``, ``@``,
``$``...): a 128-character string of them takes seconds.  Only the first
``SCORED_CHARACTERS`` that remain are scored (under half a second in the worst case); a
longer password whose first 40 characters are strong is strong.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from zxcvbn import zxcvbn

from floorplans.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn's scale 0-4; 3 = at least 10^8 guesses
SCORED_CHARACTERS = 40

ADVICE = "Choose a longer phrase of several unrelated words (four or more), one you use nowhere else."

# zxcvbn keeps the words of the current check in a module-level dictionary: two checks at
# once in one process (threaded servers) would see each other's words.
_ZXCVBN = threading.Lock()


def _words_of(context: Iterable[str]) -> list[str]:
    """The words an attacker tries first against this account: each value whole, its words
    of three letters or more, an e-mail's local part with and without its dots, dashes and
    underscores, and the labels of its domain."""
    words: set[str] = set()
    for value in context:
        value = (value or "").strip().lower()
        if not value:
            continue
        words.add(value)
        local, _, domain = value.partition("@")
        parts = re.split(r"[\s._+-]+", local) + (domain.split(".")[:-1] if domain else [])
        words.update(part for part in parts if len(part) >= 3)
        words.add(re.sub(r"[\s._+-]+", "", local))
    return sorted((w for w in words if len(w) >= 3), key=len, reverse=True)


def check(password: str, *, email: str = "", context: Iterable[str] = ()) -> None:
    """Refuse a password that is too short, too long or guessable, with what to do instead.
    ``context``: the account's name, its congregation's name, the service's name."""
    problem = _problem(password, email=email, context=context)
    if problem:
        raise InvalidInput({"password": problem})


def _problem(password: str, *, email: str, context: Iterable[str]) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long. {ADVICE}"
    if len(password) > MAX_LENGTH:
        return f"is too long: at most {MAX_LENGTH} characters."
    folded = " ".join(password.split()).casefold()
    email = email.strip().casefold()
    if email and folded in (email, email.split("@", 1)[0]):
        return f"must not be the account's e-mail address. {ADVICE}"
    words = _words_of([email, *context])
    # What is left once the account's own words are taken out must be strong on its own:
    # "Beth Shalom Congregation 2024" is "2024" to someone attacking that congregation.
    rest = password
    for word in words:
        rest = re.sub(re.escape(word), " ", rest, flags=re.IGNORECASE)
    rest = " ".join(rest.split())
    estimate: Mapping[str, Any]  # zxcvbn's result, or the two keys read below
    if rest:
        with _ZXCVBN:
            estimate = zxcvbn(rest[:SCORED_CHARACTERS], user_inputs=words)
    else:  # spaces only, or nothing but the account's own words (zxcvbn cannot score "")
        estimate = {"score": 0, "feedback": {"warning": "There is nothing in it but spaces or your own names."}}
    if estimate["score"] < MIN_SCORE:
        if rest != " ".join(password.split()):
            why = "Without the account's e-mail address, name and congregation's name, what is left is not enough."
        else:
            why = estimate["feedback"].get("warning") or "It is among the first guesses an attacker would try."
        where = (f" in its first {SCORED_CHARACTERS} characters (only those are scored)"
                 if len(rest) > SCORED_CHARACTERS else "")
        return f"is too easy to guess{where}. {why} {ADVICE}"
    return None
