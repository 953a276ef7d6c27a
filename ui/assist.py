"""The app's side of propagation: after a person confirms something, refresh the proposals of
that expression in the background (:func:`pipelines.loop.propagate.refresh_in_background`)."""

from __future__ import annotations

import logging

from ui import resources

log = logging.getLogger(__name__)


def after_confirmation(expression_id: int) -> None:
    """Queue a propagation job; never lets a failure to queue it spoil the confirmation."""
    from pipelines.loop.propagate import refresh_in_background

    try:
        # The click model is loaded by the job, not here: on the sweep the first confirmation
        # would otherwise wait seconds for MobileSAM to load before the save shows.
        refresh_in_background(
            resources.job_runner(),
            resources.project(),
            expression_id,
            load_segmenter=resources.segmenter,
        )
    except Exception:  # noqa: BLE001 - the decision is saved; a missing refresh is only slower
        log.exception("could not queue propagation for expression %s", expression_id)
