"""Thin session tasks: the two chord branches and its body."""

from celery import shared_task

from sessions import services


@shared_task(acks_late=True, ignore_result=True)
def launch_reviews(session_id: str) -> None:
    services.launch_reviews(session_id)


@shared_task(acks_late=True, ignore_result=False)
def open_review(session_id: str, kind: str) -> str | None:
    # A chord member: its result must be stored for the body to run.
    review = services.open_review(session_id, kind)
    return str(review.pk) if review else None


@shared_task(acks_late=True, ignore_result=True)
def reviews_opened(session_id: str) -> str | None:
    return services.reviews_opened(session_id)
