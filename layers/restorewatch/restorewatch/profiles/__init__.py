"""Required-permission profiles: built-ins, user files, and the watch tag that assigns them."""

from restorewatch.profiles.loader import ProfileRegistry, load_profile_file
from restorewatch.profiles.model import (
    DEFAULT_TAG_KEY,
    Profile,
    RequiredAction,
    make_profile,
    profile_names_from_tag,
    require_known_actions,
    tag_value,
    validate_action,
)
from restorewatch.profiles.parameters import (
    PARAMETER_TAG_PREFIX,
    BoundAction,
    ParameterError,
    bind_requirements,
    parameter_tag,
    parameters_from_tags,
    parse_param_options,
)

__all__ = [
    "DEFAULT_TAG_KEY",
    "PARAMETER_TAG_PREFIX",
    "BoundAction",
    "ParameterError",
    "Profile",
    "ProfileRegistry",
    "RequiredAction",
    "bind_requirements",
    "load_profile_file",
    "make_profile",
    "parameter_tag",
    "parameters_from_tags",
    "parse_param_options",
    "profile_names_from_tag",
    "require_known_actions",
    "tag_value",
    "validate_action",
]
