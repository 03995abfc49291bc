"""Celery workers for digitize: the app (`workers.app`), one thin task per page
(`workers.tasks`) and the submitting side (`workers.client`).

    DIGITIZE_BROKER=redis://host:6379/0 digitize worker --concurrency 2
    # or: celery -A workers.app worker -Q digitize

A task message is a `digitize.batch.PageRef`: JSON, a storage key and a few
short strings, never an image or a pickle. The page work itself is
`digitize.batch.process_page`, the same function the local runner calls."""
