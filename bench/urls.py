"""The API plus the bench's baseline endpoint."""

from django.db import connection, transaction
from django.urls import path
from rest_framework.authentication import TokenAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from zea.urls import urlpatterns as zea_urlpatterns


class BaselineView(APIView):
    """A minimal authenticated DRF endpoint doing one locked UPDATE + INSERT.

    It authenticates with DRF's own token class, not the project's: a baseline that
    shared our authentication would get cheaper with every improvement to it and hide
    that improvement from the ratio.
    """

    authentication_classes = [TokenAuthentication]

    def post(self, request):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT n FROM bench_counter WHERE id = %s FOR UPDATE", [request.user.pk % 64])
            cursor.execute("UPDATE bench_counter SET n = n + 1 WHERE id = %s", [request.user.pk % 64])
            cursor.execute("INSERT INTO bench_event (user_id, at) VALUES (%s, now())", [request.user.pk])
        return Response({"ok": True}, status=201)


urlpatterns = [path("bench/baseline/", BaselineView.as_view()), *zea_urlpatterns]
