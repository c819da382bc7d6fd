"""Every failure ends as one line on stderr and an exit code, never a traceback.

2 for usage errors (click's convention), 1 for everything that went wrong at run time,
130 when interrupted. ECR_FINDINGS_DEBUG=1 lets unexpected exceptions through, with traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from typer.core import TyperGroup

from pipeline.errors import ConfigError, PipelineError
from pipeline.ops.errors import OpsError, describe_aws_error

# Recent typer releases ship their own copy of click; older ones use click itself.
_click: Any = importlib.import_module(
    "typer._click.exceptions" if importlib.util.find_spec("typer._click") else "click.exceptions"
)

_NO_ARGS = getattr(_click, "NoArgsIsHelpError", ())
_ABORTS = (typer.Abort, getattr(_click, "Abort", typer.Abort))

USAGE_EXIT = 2
RUNTIME_EXIT = 1
INTERRUPTED_EXIT = 130


class OneLineErrors(TyperGroup):
    """The root command group: runs click without its own error printing and reports
    failures itself."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except _NO_ARGS as exc:  # the help was asked for by giving nothing; typer printed it
            if text := exc.format_message():
                typer.echo(text)
            sys.exit(USAGE_EXIT)
        except _click.UsageError as exc:
            fail(_usage_line(exc), USAGE_EXIT)
        except _click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except _ABORTS:
            fail("aborted", RUNTIME_EXIT)
        except (OpsError, PipelineError, ConfigError) as exc:
            fail(str(exc), RUNTIME_EXIT)
        except (ClientError, BotoCoreError) as exc:
            fail(describe_aws_error(exc), RUNTIME_EXIT)
        except KeyboardInterrupt:
            fail("interrupted", INTERRUPTED_EXIT)
        except Exception as exc:
            if os.environ.get("ECR_FINDINGS_DEBUG"):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {describe_aws_error(exc)} "
                "(set ECR_FINDINGS_DEBUG=1 for a traceback)",
                RUNTIME_EXIT,
            )
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def usage_error(message: str) -> Exception:
    """A usage error (exit 2) for rules between options that click cannot express."""
    return _click.UsageError(message)  # type: ignore[no-any-return]


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def _usage_line(exc: Any) -> str:
    message = str(exc.format_message())
    if exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message
