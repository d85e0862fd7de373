"""The OpenAPI 3 document of intake's JSON API, built from the same field table the
validator uses so the two cannot drift apart."""
from __future__ import annotations

from services.intake.schemas import (
    CONSENTS, LIST_FIELDS, MAX_AGE, MAX_BODY_BYTES, MIN_AGE, SCHOOL_LEVELS, TEXT_FIELDS, URGENCIES,
)


def referral_input_schema() -> dict:
    properties: dict = {}
    for field, (_required, max_len) in TEXT_FIELDS.items():
        properties[field] = {"type": "string", "maxLength": max_len}
    properties["reporter_email"]["format"] = "email"
    properties["school_email"]["format"] = "email"
    properties["birth_date"]["format"] = "date"
    properties["postcode"]["pattern"] = "^[1-9][0-9]{3}$"
    properties["school_level"]["enum"] = list(SCHOOL_LEVELS)
    properties["urgency"]["enum"] = list(URGENCIES)
    properties["lang"]["enum"] = ["nl", "en"]
    properties["consent"]["enum"] = list(CONSENTS)
    properties["consent_reason"]["description"] = "required when consent is none"
    for field, max_items in LIST_FIELDS.items():
        properties[field] = {"type": "array", "maxItems": max_items,
                             "items": {"type": "string", "maxLength": 64}}
    properties["age"] = {"type": "integer", "minimum": MIN_AGE, "maximum": MAX_AGE,
                         "description": "required when birth_date is absent"}
    properties["reporter_is_school"] = {
        "type": "boolean",
        "description": "when true, school_efforts, school_efforts_when and school_efforts_result are required"}
    required = [f for f, (req, _m) in TEXT_FIELDS.items() if req] + ["categories"]
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": required}


def document() -> dict:
    errors = {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "field name -> message (Dutch / English)"}}}
    status = {"type": "object", "required": ["id", "ref", "network", "state"], "properties": {
        "id": {"type": "string"}, "ref": {"type": "string", "pattern": "^NS-[0-9]{4}-[0-9]{6}$"},
        "network": {"type": "string"}, "state": {"type": "string"},
        "channel": {"type": "string"}, "submitted_at": {"type": "string", "format": "date-time"}}}
    draft = {"type": "object", "required": ["token", "expires_at", "resume_url"], "properties": {
        "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
        "resume_url": {"type": "string"}}}

    def json_content(schema):
        return {"application/json": {"schema": schema}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Netsterk intake API", "version": "1.0.0",
                 "description": "Report a concern about a young person (6-25) to the contact point. "
                                f"Requests are limited to {MAX_BODY_BYTES} bytes."},
        "paths": {
            "/api/v1/referrals": {"post": {
                "summary": "Submit a referral",
                "requestBody": {"required": True, "content": json_content(referral_input_schema())},
                "responses": {
                    "201": {"description": "stored; the workflow starts", "content": json_content(status)},
                    "400": {"description": "not JSON or not an object", "content": json_content(errors)},
                    "413": {"description": "request too large", "content": json_content(errors)},
                    "422": {"description": "validation errors per field", "content": json_content(errors)},
                }}},
            "/api/v1/drafts": {"post": {
                "summary": "Save an unfinished referral as a draft (nothing is validated or sent)",
                "requestBody": {"required": True, "content": json_content({"type": "object"})},
                "responses": {
                    "201": {"description": "saved", "content": json_content(draft)},
                    "400": {"description": "not JSON or not an object", "content": json_content(errors)},
                    "413": {"description": "request too large", "content": json_content(errors)},
                }}},
            "/api/v1/drafts/{token}": {"get": {
                "summary": "The values of a saved draft",
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "the draft's values", "content": json_content({"type": "object"})},
                    "404": {"description": "unknown or expired", "content": json_content(errors)},
                }}},
            "/api/v1/networks": {"get": {
                "summary": "Networks and their concern categories",
                "responses": {"200": {"description": "list", "content": json_content({
                    "type": "array", "items": {"type": "object", "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"},
                        "categories": {"type": "array", "items": {"type": "string"}}}}})}}}},
        },
    }
