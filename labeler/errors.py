"""Named errors of the labeler. Each message says what is wrong and, where there is one, the fix."""


class LabelerError(Exception):
    """Base class: every error the labeler raises on purpose."""


class InvalidMask(LabelerError, ValueError):
    """A mask or RLE is malformed, empty, or does not fit its image."""


class InvalidImage(LabelerError, ValueError):
    """An image file cannot be ingested (corrupt, empty, not an image, too large, unreadable)."""


class NotFound(LabelerError, LookupError):
    """A project, group, image or expression that was asked for does not exist."""


class DuplicateName(LabelerError, ValueError):
    """A group or expression with this name already exists where names must be unique."""


class StaleRevision(LabelerError):
    """Someone else saved this (expression, image) decision since it was read (optimistic locking).

    ``current`` holds the decision as it is now in the store, so a UI can show both versions.
    """

    def __init__(self, message: str, current=None):
        super().__init__(message)
        self.current = current


class ProjectError(LabelerError):
    """A project folder is missing, not initialised, or its settings are invalid."""


class ImportFormatError(LabelerError, ValueError):
    """An import file is malformed. The message names the file, the record and the problem."""
