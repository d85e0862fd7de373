from netsterk.db import run_alembic_env
from services.matching.models import Base
import services.matching.catalogue_models  # noqa: F401,E402  (information sessions, registrations)

run_alembic_env(Base.metadata)
