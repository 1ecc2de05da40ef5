"""CLI adapter for `sfe generate`: reads the parsed arguments and calls `generate()`."""

from __future__ import annotations

import argparse

from generator.core import GenerateResult, generate
from sfe.config import Settings
from sfe.console import Console


def generate_command(settings: Settings, args: argparse.Namespace, console: Console) -> GenerateResult:
    result = generate(args.out, seed=args.seed, customers=args.customers, months=args.months,
                      rows=args.rows, console=console, company=settings.company_name)
    return result
