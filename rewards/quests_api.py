"""JSON API: quests (CONTRACT §7, README "Quests")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from codequest.api import body_validated, query_filters
from rewards import quests
from rewards.spending_api import team_to_change


class QuestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="quest.pk")
    team = serializers.CharField(source="quest.organization.slug")
    template = serializers.CharField(source="quest.template")
    title = serializers.CharField(source="quest.title")
    description = serializers.CharField()
    scope = serializers.ChoiceField(
        source="quest.scope",
        choices=["team", "personal"],
        help_text="team: the team's progress, everyone paid when met; personal: "
        "the viewer's own.",
    )
    params = serializers.DictField(
        source="quest.params", child=serializers.IntegerField()
    )
    points = serializers.IntegerField(source="quest.points")
    starts_at = serializers.DateTimeField(source="quest.starts_at")
    ends_at = serializers.DateTimeField(source="quest.ends_at")
    target = serializers.IntegerField()
    progress = serializers.IntegerField()
    completed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(
        choices=["upcoming", "running", "completed", "missed"]
    )
    measured_at = serializers.DateTimeField(
        allow_null=True, help_text="When progress was last measured (every 5 minutes)."
    )


class QuestListApi(ListAPIView):
    """Quests of the person's teams, running ones first; a team admin starts
    one from a template (``GET /api/v1/quests/templates/`` lists them)."""

    class InputSerializer(serializers.Serializer):
        template = serializers.ChoiceField(choices=sorted(quests.TEMPLATES))
        team = serializers.SlugField(required=False)
        params = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            default=dict,
            help_text='Settings of the template to tune, e.g. {"count": 5}.',
        )
        days = serializers.IntegerField(
            min_value=1, max_value=quests.MAX_DAYS, required=False
        )
        points = serializers.IntegerField(min_value=1, max_value=1000, required=False)
        starts_at = serializers.DateTimeField(required=False)

    serializer_class = QuestOutputSerializer

    @extend_schema(parameters=[OpenApiParameter("team", str, description="slug")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(self.request.query_params, {"team": None})
        return quests.quests_visible_to(
            user=self.request.user, team=filters.get("team", "")
        )

    @extend_schema(request=InputSerializer, responses={201: QuestOutputSerializer})
    def post(self, request: Request) -> Response:
        data = body_validated(self.InputSerializer, request.data)
        organization = team_to_change(request, data.pop("team", ""), "start quests")
        try:
            quest = quests.quest_start(
                user=request.user, organization=organization, **data
            )
        except quests.TooManyQuestsError as exc:
            return Response({"error": str(exc)}, status=409)
        except quests.QuestError as exc:
            return Response({"error": str(exc)}, status=400)
        [view] = quests.quest_views([quest], user=request.user)
        return Response(QuestOutputSerializer(view).data, status=201)


class QuestTemplateListApi(ListAPIView):
    """GET /api/v1/quests/templates/: the library a team admin starts from."""

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        scope = serializers.CharField()
        title = serializers.SerializerMethodField()
        description = serializers.CharField()
        points = serializers.IntegerField()
        days = serializers.IntegerField()
        settings = serializers.SerializerMethodField()

        def get_title(self, template: quests.Template) -> str:
            return template.default_title

        def get_settings(self, template: quests.Template) -> list[dict]:
            return [
                {
                    "name": setting.name,
                    "label": setting.label,
                    "default": setting.default,
                    "min": setting.low,
                    "max": setting.high,
                }
                for setting in template.settings
            ]

    serializer_class = OutputSerializer

    def get_queryset(self):
        return list(quests.TEMPLATES.values())
