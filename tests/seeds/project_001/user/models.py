# The seed imports `from user.models import *` beside `apps_package='domain'`: the app lives in
# domain/user, and this module is the name the seed's sample imports it by.
from domain.user.models import *  # noqa: F403
