from netsterk.db import run_alembic_env
from services.reporting.models import Base

run_alembic_env(Base.metadata)
