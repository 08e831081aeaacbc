# ruff: noqa: UP006, UP035  (typing.List, as UtilMeta's guides write it)
"""A help desk, written the way UtilMeta's guides write a service (django backend): a ticket code
matched by a path regex, a general header parameter with a Literal type, a paginated list whose
page may be left out of the path, and error handling hooks."""

import os
from typing import List, Literal

import django
import utype

from utilmeta import UtilMeta
from utilmeta.core import api, request
from utilmeta.utils import exceptions

TICKETS = {
    "NET-101": {"code": "NET-101", "title": "VPN drops", "status": "open"},
    "HR-7": {"code": "HR-7", "title": "Payslip missing", "status": "closed"},
}


class TicketSchema(utype.Schema):
    code: str
    title: str
    status: str


class TicketAPI(api.API):
    agent: Literal["alice", "bob"] = request.HeaderParam("X-Agent")

    @api.get("{code}")
    def get_ticket(self, code: str = request.PathParam(r"[A-Z]{2,4}-\d+")) -> TicketSchema:
        if code not in TICKETS:
            raise exceptions.NotFound(f"ticket {code} not found")
        return TICKETS[code]

    @api.get("list/{status}/{page}")
    def list_tickets(
        self, status: Literal["open", "closed"], page: int = request.PathParam(default=1, ge=1)
    ) -> List[str]:
        codes = sorted(t["code"] for t in TICKETS.values() if t["status"] == status)
        return codes[(page - 1) * 10 : page * 10]

    @api.post("{code}/close")
    def close(self, code: str = request.PathParam(r"[A-Z]{2,4}-\d+")) -> TicketSchema:
        ticket = TICKETS.get(code)
        if ticket is None:
            raise exceptions.NotFound(f"ticket {code} not found")
        ticket["status"] = "closed"
        ticket["title"] = f"{ticket['title']} (closed by {self.agent})"
        return ticket

    @api.handle("*", exceptions.NotFound)
    def not_found(self, e):
        return {"missing": str(e), "agent": self.agent}


class RootAPI(api.API):
    tickets: TicketAPI


service = UtilMeta(
    __name__,
    name="helpdesk",
    backend=django,
    api=RootAPI,
    route="/api",
    port=int(os.environ.get("GUIDE_PORT", "8000")),
)
app = service.application()

if __name__ == "__main__":
    service.run()
