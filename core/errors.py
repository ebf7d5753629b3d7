"""The one error type a user can cause. Its message is for the user and names the fix."""


class LoraportError(Exception):
    """A problem the user can act on: a bad file, a missing dataset, a setting out of range.

    Surfaces convert it in one place each: the CLI prints one line and exits with ``exit_code``; the API answers
    JSON with ``status_code``; the agent hands the message to the brain as a tool result.
    """

    exit_code = 2
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class NotFoundError(LoraportError):
    """Something named by id (a job, a dataset, a thread) does not exist."""

    status_code = 404
