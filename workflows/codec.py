"""Encryption of workflow payloads (issue 10): everything the worker and the bridge hand to the
Temporal server — workflow inputs (the reporter's and school's addresses), signals and updates
(feedback, questions, answers, reasons typed by people), results and query answers — is
encrypted with the field keys (netsterk/crypto.py, the same keyring and rotation) before it is
stored in Temporal's database or shown in its UI. Temporal only sees `binary/netsterk-fernet`.

Payloads without that encoding (histories recorded before, clients without the codec) pass
through unchanged, so old histories still replay and decode. Histories are immutable: a payload
stays encrypted with the key of its day, so an old key may only be retired once no workflow
history that used it is kept any more (see docs/privacy.md)."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import temporalio.converter
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from netsterk import crypto

ENCODING = b"binary/netsterk-fernet"


class FernetPayloadCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata={"encoding": ENCODING},
                        data=crypto.encrypt_bytes(payload.SerializeToString()))
                for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            decoded.append(Payload.FromString(crypto.decrypt_bytes(payload.data)))
        return decoded


def data_converter() -> temporalio.converter.DataConverter:
    """The default converter with the encrypting codec (or plain when the setting is off)."""
    from netsterk.settings import get_settings

    converter = temporalio.converter.DataConverter.default
    if not get_settings().temporal_encrypt_payloads:
        return converter
    return dataclasses.replace(converter, payload_codec=FernetPayloadCodec())
