"""Wiring of the processor: settings, logging, PostgreSQL, the bus, two consumers, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from urllib.parse import urlsplit

import structlog

from shared import bus as bus_mod
from shared import db, schema_ready, subjects
from shared.events import FileCollected, ProcessFile
from shared.lifecycle import load_settings, run_service
from shared.logs import configure_logging
from shared.netguard import guarded_session
from shared.storage import DataDir

from . import handlers, schema
from .config import ProcessorSettings
from .dedup.linker import Linker
from .enrich.gazetteer import OfflineGazetteer
from .enrich.geocode import CachedGeocoder
from .enrich.image_head import ImageChecks
from .grading import DEFAULT_GRADE_RULES, load_rules_file
from .processing import ChunkStages, Options
from .reader_process import ReaderProcesses
from .stages.enrich import Enricher, OnlineEnrichment
from .stages.link import ChunkLinker

log = structlog.get_logger(__name__)
SERVICE = "processor"


def build_options(settings: ProcessorSettings) -> Options:
    """Return the processing options the settings ask for (rules file, geocoder, chunk size)."""
    rules, rules_source = DEFAULT_GRADE_RULES, "default"
    if settings.grading_rules_file is not None:
        rules = load_rules_file(settings.grading_rules_file)
        rules_source = str(settings.grading_rules_file)
    gazetteer = OfflineGazetteer() if settings.geocoder == "offline" else None
    enricher = Enricher(rules=rules, rules_source=rules_source, gazetteer=gazetteer)
    return Options(enricher, settings.apify_field_maps_file, settings.chunk_size)


def online_geocoder(settings: ProcessorSettings) -> CachedGeocoder | None:
    """Return the opt-in online geocoder the settings ask for (None: the offline gazetteer)."""
    if settings.geocoder != "nominatim":
        return None
    from geopy.geocoders import Nominatim

    url = urlsplit(str(settings.nominatim_url))  # geopy takes the host (a port only if given)
    domain = f"{url.netloc}{url.path.rstrip('/')}"  # and the path Nominatim is served under
    nominatim = Nominatim(
        domain=domain, scheme=url.scheme, user_agent=settings.nominatim_user_agent
    )
    return CachedGeocoder(nominatim, "nominatim")


async def serve(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    """Consume collected files and process-file commands until ``stop`` is set."""
    data_dir = DataDir(settings.data_dir)
    data_dir.ensure_layout()
    options = build_options(settings)
    async with contextlib.AsyncExitStack() as stack:
        await schema_ready.prepare_schema(
            settings, schema.migrate, {schema.COMPONENT: schema.MIGRATIONS}
        )
        pool = await stack.enter_async_context(
            db.create_pool(
                settings.database_url, application_name=SERVICE, wait_s=settings.startup_wait_s
            )
        )
        images = None
        if settings.check_images:
            http = await stack.enter_async_context(guarded_session(settings.url_policy()))
            images = ImageChecks(
                http, settings.image_check_concurrency, settings.image_check_budget_s
            )
        linker = Linker(pool, settings.link_threshold)
        stack.push_async_callback(linker.upkeep.close)  # before the pool closes
        online = OnlineEnrichment(pool, online_geocoder(settings), images)
        stages = ChunkStages(ChunkLinker(linker), online)
        bus = await stack.enter_async_context(bus_mod.connect(settings, SERVICE))
        # One limit over both subjects: at most max_in_flight files are parsed at a time.
        slots = asyncio.Semaphore(settings.max_in_flight)
        readers = None
        if settings.reader_process:
            readers = ReaderProcesses(settings.max_in_flight, settings.log_level)
            stack.callback(readers.close)
        deps = handlers.Deps(
            bus, data_dir, tuple(options.enricher.rules), slots, stages, options, readers
        )
        routes: list[bus_mod.Route] = [
            (subjects.FILES_COLLECTED, FileCollected, handlers.handle_file_collected),
            (subjects.COMMAND_PROCESS_FILE, ProcessFile, handlers.handle_process_file),
        ]
        limits = bus_mod.ConsumerLimits(
            settings.max_in_flight,
            settings.ack_wait_s,
            settings.max_deliver,
            settings.shutdown_grace_s,
        )
        await stack.enter_async_context(bus_mod.consuming(bus, SERVICE, routes, deps, limits))
        log.info("service.started", service=SERVICE, data_dir=str(data_dir.root))
        await stop.wait()
        log.info("service.stopping", service=SERVICE)


def main() -> int:
    """Run the processor until SIGTERM or SIGINT; return the process exit code."""
    settings = load_settings(ProcessorSettings, SERVICE)
    configure_logging(settings.log_level)
    return run_service(functools.partial(serve, settings), SERVICE)
