"""Photos of a building and of its markers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00

Hand-written.  One new table, photos (services.photos): its building, the marker it shows
(optional: a photo of the front or of an entrance belongs to the building alone), what it
shows (front, entrance, marker), a caption, the folder of its stored sizes in the object
store (token), the upright photo's size, the stored sizes, who uploaded it and when.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=False),
        sa.Column('marker_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=10), nullable=False),
        sa.Column('caption', sa.String(length=200), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('sizes', sa.JSON(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_photos_building_id_buildings'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['marker_id'], ['markers.id'], name=op.f('fk_photos_marker_id_markers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_photos_uploaded_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
        sa.UniqueConstraint('token', name=op.f('uq_photos_token')),
    )
    op.create_index(op.f('ix_photos_building_id'), 'photos', ['building_id'], unique=False)
    op.create_index(op.f('ix_photos_marker_id'), 'photos', ['marker_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_photos_marker_id'), table_name='photos')
    op.drop_index(op.f('ix_photos_building_id'), table_name='photos')
    op.drop_table('photos')
