"""Errors whose message is meant for the user (Chinese, concise)."""


class DomainError(Exception):
    """A rule refused the request; ``str(e)`` is shown to the user as is."""


class NotFound(DomainError):
    """The thing does not exist in this branch."""


class Forbidden(DomainError):
    """The person may not do this."""
