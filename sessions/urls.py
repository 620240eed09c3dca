from django.urls import path

from sessions import api

urlpatterns = [
    path("sessions/", api.SessionListView.as_view(), name="session-list"),
    path("sessions/<uuid:session_id>/", api.SessionDetailView.as_view(), name="session-detail"),
    path("sessions/<uuid:session_id>/record-time/", api.RecordTimeView.as_view(), name="session-record-time"),
    path("sessions/<uuid:session_id>/feedback/", api.FeedbackView.as_view(), name="session-feedback"),
    path("sessions/<uuid:session_id>/evaluation/", api.EvaluationView.as_view(), name="session-evaluation"),
]
