from netsterk.db import run_alembic_env
from services.intake.models import Base
import services.intake.mail.models  # noqa: F401,E402  (the e-mail gateway tables)
import services.intake.wraparound_models  # noqa: F401,E402  (plans, voice, conferences)

run_alembic_env(Base.metadata)
