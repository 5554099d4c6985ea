"""Required-permission profiles: built-ins, user files, and the watch tag that assigns them."""

from restorewatch.profiles.loader import ProfileRegistry, load_profile_file
from restorewatch.profiles.model import (
    DEFAULT_TAG_KEY,
    Profile,
    make_profile,
    profile_names_from_tag,
    require_known_actions,
    tag_value,
    validate_action,
)

__all__ = [
    "DEFAULT_TAG_KEY",
    "Profile",
    "ProfileRegistry",
    "load_profile_file",
    "make_profile",
    "profile_names_from_tag",
    "require_known_actions",
    "tag_value",
    "validate_action",
]
