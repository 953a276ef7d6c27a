"""The model jobs the UI can start: pre-labeling, a feedback round, embeddings.

Each :class:`JobOffer` names a job kind of :mod:`pipelines.services.job_kinds` (its typed
parameters come from ``offer.params(group_id, refine)``) or, when it cannot run here, the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeler.project import Project
from pipelines.loop.registry import unavailable_reason


@dataclass(frozen=True)
class JobOffer:
    key: str  # the job kind
    label: str
    help: str
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def params(self, group_id: int | None, refine: bool | None = None) -> Any:
        """The typed parameters of this job for the page's scope and refine box."""
        from pipelines.services.job_kinds import offer_params

        return offer_params(self.key, group_id, refine)


def offers(project: Project) -> list[JobOffer]:
    """What the model page can start for this project, each available or with a reason."""
    result = []
    for key, label, help_ in (
        (
            "prelabel",
            "Pre-label with GRSer",
            "Propose masks and presence for every undecided pair of the chosen group.",
        ),
        (
            "feedback",
            "Feedback round",
            "Train on the confirmed decisions, then pre-label what is left with the new model.",
        ),
    ):
        missing = unavailable_reason(project) if key == "prelabel" else None
        reason = f"needs a GRSer checkpoint: {missing}" if missing else None
        result.append(JobOffer(key, label, help_, reason))
    result.append(
        JobOffer(
            "embed",
            "Precompute segmenter embeddings",
            "Embed every image of the group once, so the editor's first click is fast.",
        )
    )
    return result
