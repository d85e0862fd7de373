from netsterk.db import run_alembic_env
from services.portal.models import Base

run_alembic_env(Base.metadata)
