"""Inspector's ListFindings answered from seeded findings by the rule book, with filters and
pages (moto answers canned results, unfiltered, in one page)."""

from __future__ import annotations

from localaws.motoserver.protocol import Call, Reply, error_reply, json_reply
from localaws.rules import inspector2
from localaws.rules.errors import ApiError


def list_findings(call: Call, findings: inspector2.FindingBook) -> Reply:
    try:
        request = inspector2.list_request(call.params())
        answer = inspector2.list_page(request, findings, call.region)
    except ApiError as exc:
        return error_reply(call.protocol, exc.code, exc.message, exc.status)
    return json_reply(answer, content_type="application/json")
