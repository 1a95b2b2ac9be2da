"""Trouble types, canned phrases, the survey and site settings."""

from __future__ import annotations

from anysupport.catalog.manager import DEFAULT_PHRASES_OWNER, trouble_type_tree
from anysupport.protocol.vocabulary import LANGUAGES, OBJECT_ID_PATTERN, OBJECT_ID_ROUTE, SATISFACTION
from anysupport.web.base import BaseHandler, endpoint

OID = OBJECT_ID_ROUTE
TYPE_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "parent_id": {"type": ["string", "null"], "pattern": OBJECT_ID_PATTERN},
        "order": {"type": "integer", "minimum": 0, "maximum": 100000},
    },
    "required": ["name"],
    "additionalProperties": False,
}
TYPE_UPDATE = {**TYPE_BODY, "required": [], "minProperties": 1}
PHRASE_BODY = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 500},
        "shortcut": {"type": ["string", "null"], "maxLength": 32, "pattern": "^((Ctrl|Alt|Shift)\\+)*(F([1-9]|1[0-2])|[A-Z0-9])$"},
        "order": {"type": "integer", "minimum": 0, "maximum": 100000},
    },
    "required": ["text"],
    "additionalProperties": False,
}
PHRASE_UPDATE = {**PHRASE_BODY, "required": [], "minProperties": 1}
TEXTS = {
    "type": "object",
    "properties": {lang: {"type": "string", "minLength": 1, "maxLength": 500} for lang in LANGUAGES},
    "required": list(LANGUAGES),
    "additionalProperties": False,
}
SURVEY_BODY = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "question": TEXTS,
        "choices": {
            "type": "array",
            "minItems": 3,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"value": {"enum": list(SATISFACTION)}, "label": TEXTS},
                "required": ["value", "label"],
                "additionalProperties": False,
            },
        },
        "feedback": {"type": "boolean"},
        "feedback_prompt": TEXTS,
    },
    "additionalProperties": False,
    "minProperties": 1,
}
SITE_BODY = {
    "type": "object",
    "properties": {
        "public_url": {"type": "string", "maxLength": 500, "pattern": "^(https?://[^\\s]+)?$"},
        "brand_name": {"type": "string", "maxLength": 100},
    },
    "additionalProperties": False,
    "minProperties": 1,
}


class TroubleTypeTreeHandler(BaseHandler):
    @endpoint(auth="agent", summary="The tree of active trouble types (for the record form)", tags=("records",))
    async def get(self) -> None:
        self.send({"trouble_types": await self.services.catalog.trouble_type_tree()})


class AdminTroubleTypesHandler(BaseHandler):
    @endpoint(auth="admin", summary="Every trouble type, retired ones included, as a flat list and a tree",
              tags=("admin",))
    async def get(self) -> None:
        types = await self.services.catalog.trouble_types()
        self.send({"trouble_types": types, "tree": trouble_type_tree(types, self.services.catalog.trouble_type_max_depth)})

    @endpoint(auth="admin", summary="Add a trouble type (under a parent, or at the top)", body=TYPE_BODY,
              tags=("admin",), responses={201: None, 400: "trouble_type_too_deep"})
    async def post(self) -> None:
        self.send(await self.services.catalog.add_trouble_type(**self.body), 201)


class AdminTroubleTypeHandler(BaseHandler):
    @endpoint(auth="admin", summary="Rename or move a trouble type", body=TYPE_UPDATE, tags=("admin",),
              responses={200: None, 400: "trouble_type_too_deep"})
    async def patch(self, type_id: str) -> None:
        self.send(await self.services.catalog.update_trouble_type(type_id, self.body))

    @endpoint(auth="admin", summary="Delete a trouble type; one in use by records is retired instead",
              tags=("admin",), responses={200: {"result": "deleted"}, 409: "trouble_type_has_children"})
    async def delete(self, type_id: str) -> None:
        self.send({"result": await self.services.catalog.delete_trouble_type(type_id)})


class AdminSurveyHandler(BaseHandler):
    @endpoint(auth="admin", summary="The satisfaction survey shown to customers at the end", tags=("admin",))
    async def get(self) -> None:
        self.send(await self.services.records.survey_settings())

    @endpoint(auth="admin", summary="Change the survey", body=SURVEY_BODY, tags=("admin",))
    async def put(self) -> None:
        self.send(await self.services.records.update_survey(self.body))


class AdminSiteHandler(BaseHandler):
    @endpoint(auth="admin", summary="The customer page URL and branding", tags=("admin",))
    async def get(self) -> None:
        self.send(await self.services.site.get())

    @endpoint(auth="admin", summary="Change the customer page URL and branding", body=SITE_BODY, tags=("admin",))
    async def put(self) -> None:
        self.send(await self.services.site.put(self.body))


class PhrasesHandler(BaseHandler):
    def owner(self) -> str:
        return self.agent["id"]

    @endpoint(auth="agent", summary="The agent's canned phrases (상용문구), in order", tags=("phrases",))
    async def get(self) -> None:
        self.send({"phrases": await self.services.catalog.phrases(self.owner(), self.language)})

    @endpoint(auth="agent", summary="Add a canned phrase", body=PHRASE_BODY, tags=("phrases",),
              responses={201: None, 409: "too_many_phrases"})
    async def post(self) -> None:
        self.send(await self.services.catalog.add_phrase(self.owner(), **self.body), 201)


class PhraseHandler(BaseHandler):
    def owner(self) -> str:
        return self.agent["id"]

    @endpoint(auth="agent", summary="Change a canned phrase's text, shortcut or order", body=PHRASE_UPDATE,
              tags=("phrases",))
    async def patch(self, phrase_id: str) -> None:
        self.send(await self.services.catalog.update_phrase(self.owner(), phrase_id, self.body))

    @endpoint(auth="agent", summary="Delete a canned phrase", tags=("phrases",), responses={204: None})
    async def delete(self, phrase_id: str) -> None:
        await self.services.catalog.delete_phrase(self.owner(), phrase_id)
        self.no_content()


class DefaultPhrasesHandler(BaseHandler):
    @endpoint(auth="admin", summary="The default canned phrases new agents start from", tags=("admin",))
    async def get(self) -> None:
        self.send({"phrases": await self.services.catalog.default_phrases()})

    @endpoint(auth="admin", summary="Add a default canned phrase", body=PHRASE_BODY, tags=("admin",),
              responses={201: None, 409: "too_many_phrases"})
    async def post(self) -> None:
        await self.services.catalog.default_phrases()
        self.send(await self.services.catalog.add_phrase(DEFAULT_PHRASES_OWNER, **self.body), 201)


class DefaultPhraseHandler(BaseHandler):
    @endpoint(auth="admin", summary="Change a default canned phrase", body=PHRASE_UPDATE, tags=("admin",))
    async def patch(self, phrase_id: str) -> None:
        self.send(await self.services.catalog.update_phrase(DEFAULT_PHRASES_OWNER, phrase_id, self.body))

    @endpoint(auth="admin", summary="Delete a default canned phrase", tags=("admin",), responses={204: None})
    async def delete(self, phrase_id: str) -> None:
        await self.services.catalog.delete_phrase(DEFAULT_PHRASES_OWNER, phrase_id)
        self.no_content()


default_handlers = [
    (r"/api/v1/trouble-types", TroubleTypeTreeHandler),
    (r"/api/v1/admin/trouble-types", AdminTroubleTypesHandler),
    (rf"/api/v1/admin/trouble-types/{OID}", AdminTroubleTypeHandler),
    (r"/api/v1/admin/survey", AdminSurveyHandler),
    (r"/api/v1/admin/site", AdminSiteHandler),
    (r"/api/v1/phrases", PhrasesHandler),
    (rf"/api/v1/phrases/{OID}", PhraseHandler),
    (r"/api/v1/admin/phrases", DefaultPhrasesHandler),
    (rf"/api/v1/admin/phrases/{OID}", DefaultPhraseHandler),
]
