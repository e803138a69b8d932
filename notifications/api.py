from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from notifications.models import Channel, Notification


class NotificationListApi(ListAPIView):
    """GET /api/v1/notifications/: the signed-in person's notifications, newest
    first (what the dashboard lists; nobody else's)."""

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Notification
            fields = ["id", "kind", "subject", "body", "url", "created_at", "read_at"]

    serializer_class = OutputSerializer

    @extend_schema(summary="Your notifications")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return Notification.objects.filter(
            recipient=self.request.user, channel=Channel.IN_APP
        ).order_by("-created_at", "-pk")
