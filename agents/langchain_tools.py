"""LangChain StructuredTools over the same services: any LangChain agent can hold a wallet conversation.

    from agents.langchain_tools import make_tools
    tools = make_tools(Services.from_settings(settings))
"""
from __future__ import annotations

from langchain_core.tools import StructuredTool
from pydantic import ValidationError

from agents.tools import TOOLS, Services, call_tool, error_text


def _runner(svc: Services, name: str):
    def run(**kwargs) -> str:
        return call_tool(svc, name, kwargs)

    return run


def _invalid(e: ValidationError) -> str:
    return error_text(e)


def make_tools(svc: Services, names: list[str] | None = None) -> list[StructuredTool]:
    """One StructuredTool per capability; bad input comes back as an "Error (...)" result, never raised."""
    return [StructuredTool.from_function(func=_runner(svc, name), name=name, description=TOOLS[name][2],
                                         args_schema=TOOLS[name][0], handle_validation_error=_invalid)
            for name in names or list(TOOLS)]
