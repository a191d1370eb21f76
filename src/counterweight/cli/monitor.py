"""``counterweight monitor``: the rotation dashboard, alerts for cron, and guardrail replay.

Exit status: 0 when no new alert fired, 3 (:data:`~counterweight.monitor.NEW_ALERT_EXIT_CODE`)
when at least one guardrail became active on this run, 2 for bad input or configuration.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from counterweight.cli.options import (
    check_as_of,
    date_callback,
    int_callback,
    number_callback,
    output_callback,
    replay_callback,
    store_callback,
)
from counterweight.report.console import print_table
from counterweight.report.monitor_text import FORMATS, alert_message, fmt_value

MAX_TIMEOUT = 60.0  # = counterweight.monitor.webhook.MAX_TIMEOUT (not imported: CLI start-up)
MAX_RETRIES = 10  # = counterweight.monitor.webhook.MAX_RETRIES

__all__ = ["FORMATS", "fmt_value", "register"]


def _load_market(store: Any, sample: bool, console: Any) -> Any:
    from counterweight import load_sample
    from counterweight.errors import DataUnavailableError

    if store is not None and not sample:
        try:
            return store.market()
        except DataUnavailableError:
            console.print(
                f"[yellow]note:[/yellow] the store {store.path} has no prices; using the embedded sample",
                highlight=False,
            )
    return load_sample()


def _signal_unit(result: Any, name: str) -> str:
    return str(result.signals[name].unit) if name in result.signals else "fraction"


def _dashboard(console: Any, result: Any, alerts: list[Any]) -> None:
    from rich.table import Table

    reg = result.regime
    colour = {"broadening": "green", "narrowing": "red", "mixed": "yellow"}[reg.call]
    console.print(
        f"[bold]Rotation monitor[/bold]  as of {result.as_of.date()}  ({result.provenance.name})\n"
        f"Regime: [bold {colour}]{reg.call.upper()}[/bold {colour}]  "
        f"{reg.broadening} broadening, {reg.narrowing} narrowing, {reg.neutral} neutral, "
        f"{reg.abstained} n/a (margin {reg.margin})",
        highlight=False,
    )
    table = Table(title="Signals", width=100, title_justify="left")
    table.add_column("signal", max_width=44, overflow="ellipsis")
    table.add_column("value", justify="right")
    table.add_column("pctile", justify="right")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    table.add_column("since", justify="right")
    for _, row in result.signals.table(result.as_of).iterrows():
        unit = row["unit"]
        table.add_row(
            escape(str(row["label"])),
            fmt_value(row["value"], unit),
            f"{row['percentile']:.0%}",
            fmt_value(row["min"], unit),
            fmt_value(row["max"], unit),
            str(row["since"]),
        )
    print_table(console, table, markup=True)
    votes = Table(title="Regime votes", width=100, title_justify="left")
    votes.add_column("signal", max_width=34, overflow="ellipsis")
    votes.add_column("value", justify="right")
    votes.add_column("rule", max_width=40, overflow="fold")
    votes.add_column("vote")
    for v in reg.votes:
        unit = _signal_unit(result, v.signal)
        shown = (
            fmt_value(v.value, unit)
            if v.on == "value"
            else f"{v.tested:.0%} pct"
            if v.tested is not None
            else "-"
        )
        style = {"broadening": "green", "narrowing": "red"}.get(v.verdict, "")
        votes.add_row(
            escape(str(v.signal)),
            shown,
            escape(str(v.rule)),
            f"[{style}]{v.verdict}[/{style}]" if style else v.verdict,
        )
    print_table(console, votes, markup=True)
    if alerts:
        g = Table(title="Guardrails", width=100, title_justify="left")
        g.add_column("guardrail", max_width=46, overflow="fold")
        g.add_column("value", justify="right")
        g.add_column("test", justify="right")
        g.add_column("sessions", justify="right")
        g.add_column("status")
        styles = {"fired": "bold red", "continuing": "red", "cleared": "green", "stale": "yellow"}
        for a in alerts:
            gr = next(h.guardrail for h in result.guardrails if h.guardrail.name == a.guardrail)
            unit = "spread" if gr.change_over else _signal_unit(result, gr.signal)
            status = a.status.upper() if a.status == "fired" else a.status
            st = styles.get(a.status, "")
            g.add_row(
                escape(f"{a.guardrail}: {a.description}"),
                fmt_value(a.value, unit),
                f"{a.comparison} {fmt_value(a.threshold, unit)}",
                str(a.run),
                f"[{st}]{status}[/{st}]" if st else status,
            )
        print_table(console, g, markup=True)
    shocks = result.signals.shocks
    if not shocks.empty and result.as_of in shocks.index:
        z = shocks.loc[result.as_of]
        hit = z[z.abs() > result.config.shock_k]
        if len(hit):
            rets = result.signals.shock_returns.loc[result.as_of]
            parts = [
                f"{escape(str(name))} {rets[name]:+.2%} ({z[name]:+.1f} sd)" for name in hit.index
            ]
            console.print("[bold]Shocks today:[/bold] " + "; ".join(parts), highlight=False)
    for note in result.signals.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]", highlight=False)


def _replay_table(console: Any, events: Any, result: Any, start: str, end: str) -> None:
    from rich.table import Table

    table = Table(title=f"Guardrail replay {start} .. {end}", width=100, title_justify="left")
    table.add_column("date")
    table.add_column("guardrail", max_width=40, overflow="fold")
    table.add_column("event")
    table.add_column("value", justify="right")
    table.add_column("sessions", justify="right")
    units = {
        h.guardrail.name: "spread"
        if h.guardrail.change_over
        else _signal_unit(result, h.guardrail.signal)
        for h in result.guardrails
    }
    for _, e in events.iterrows():
        table.add_row(
            str(e["date"].date()),
            escape(str(e["guardrail"])),
            str(e["event"]),
            fmt_value(e["value"], units.get(e["guardrail"], "fraction")),
            str(e["run"]),
        )
    print_table(console, table, markup=True)
    fired = (
        events[events["event"] != "cleared"].groupby("guardrail").size() if len(events) else None
    )
    for h in result.guardrails:
        n = 0 if fired is None else int(fired.get(h.guardrail.name, 0))
        console.print(f"  {escape(h.guardrail.name)}: fired {n} time(s)", highlight=False)


def webhook_callback(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--webhook``: an http(s) URL with a host; the error never repeats its secrets."""
    if value is None:
        return None
    from counterweight.errors import ConfigError
    from counterweight.monitor.webhook import WebhookURLError, parse_webhook_url

    try:
        parse_webhook_url(value)
    except WebhookURLError as exc:
        raise ConfigError(f"--webhook: {exc}") from None
    return value


def monitor(
    store: Annotated[
        Path | None,
        typer.Option(
            help="DuckDB store: keeps alert state (and supplies your data if it has prices).",
            callback=store_callback,
        ),
    ] = None,
    sample: Annotated[
        bool,
        typer.Option("--sample", help="Use the embedded sample data even when --store is given."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML with regime votes and guardrails (defaults shipped; see docs/monitor.md)."
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write the readings and alerts as JSON.", callback=output_callback
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            help="Write a self-contained HTML page with the monitor charts.",
            callback=output_callback,
        ),
    ] = None,
    flows: Annotated[
        Path | None, typer.Option(help="Fund flows CSV: date, fund, flow_usd.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Reading date, YYYY-MM-DD within the data (default: the last date).",
            callback=date_callback,
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            help="POST the alert JSON here (http or https) when an alert fires or clears.",
            callback=webhook_callback,
        ),
    ] = None,
    webhook_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds per webhook attempt (above 0, at most 60).",
            callback=number_callback(0.0, MAX_TIMEOUT, lo_open=True, what="seconds"),
        ),
    ] = 5.0,
    webhook_retries: Annotated[
        int,
        typer.Option(
            help="Webhook retries after the first attempt (0..10).",
            callback=int_callback(0, MAX_RETRIES),
        ),
    ] = 2,
    replay: Annotated[
        tuple[str, str] | None,
        typer.Option(
            help="List when each guardrail would have fired between START and END.",
            metavar="START END",
            callback=replay_callback,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only alerts and errors.")
    ] = False,
) -> None:
    """Rotation dashboard: breadth, dispersion, correlation, rotation, regime call, guardrails.

    Exits with status 3 when a new alert fires (for cron), 0 otherwise.
    """
    from rich.console import Console

    from counterweight.data.files import atomic_write_json
    from counterweight.data.store import Store
    from counterweight.monitor import NEW_ALERT_EXIT_CODE, load_config, run_monitor
    from counterweight.monitor.alerts import AlertBook, statuses_without_store
    from counterweight.monitor.flows import load_flows, unclassified_funds
    from counterweight.monitor.webhook import post_json

    console = Console(quiet=False)
    cfg = load_config(config)
    flow_frame = load_flows(flows) if flows is not None else None
    st = Store(store) if store is not None else None
    try:
        market = _load_market(st, sample, console)
        check_as_of(market, as_of)
        result = run_monitor(market, cfg, flows=flow_frame, as_of=as_of)
        if flow_frame is not None:
            missing = unclassified_funds(flow_frame, cfg.flow_classes)
            if missing:
                result.signals.notes.append(
                    "funds in neither flow bucket (add them under [flows.classes]): "
                    + ", ".join(missing[:20])
                )
        if replay is not None:
            start, end = replay
            events = result.replay(start, end)
            if not quiet:
                _replay_table(console, events, result, start, end)
            if json_out is not None:
                atomic_write_json(
                    json_out,
                    {
                        "replay": {"start": start, "end": end},
                        "events": [
                            {**e, "date": e["date"].date().isoformat()}
                            for e in events.to_dict(orient="records")
                        ],
                        "guardrails": [asdict(h.guardrail) for h in result.guardrails],
                    },
                )
            return
        if st is not None:
            alerts = AlertBook(st.con).update(result.guardrails, result.as_of)
        else:
            alerts = statuses_without_store(result.guardrails, result.as_of)
    finally:
        if st is not None:
            st.close()
    payload = result.to_dict(alerts)
    for entry, a in zip(payload["alerts"], alerts, strict=True):
        entry["message"] = alert_message(a)  # the line printed, for webhooks and logs
    if not quiet:
        _dashboard(console, result, alerts)
    new = [a for a in alerts if a.is_new]
    for a in new:
        console.print(
            f"[bold red]ALERT[/bold red] {escape(alert_message(a))}",
            highlight=False,
        )
    if json_out is not None:
        atomic_write_json(json_out, payload)
    if html is not None:
        from counterweight.report.html import render_html, write_html
        from counterweight.report.monitor_section import monitor_sections

        doc = render_html(
            "Rotation monitor",
            monitor_sections(result, alerts),
            result.provenance,
            subtitle=f"as of {result.as_of.date()}",
        )
        write_html(html, doc)
    changed = [a for a in alerts if a.status in ("fired", "cleared")]
    if webhook is not None and changed:
        res = post_json(webhook, payload, timeout=webhook_timeout, retries=webhook_retries)
        console.print(
            res.summary(), highlight=False, markup=False, style=None if res.ok else "yellow"
        )
    if new:
        raise typer.Exit(NEW_ALERT_EXIT_CODE)


def register(app: typer.Typer) -> None:
    """Add ``counterweight monitor`` to the app."""
    app.command("monitor")(monitor)
