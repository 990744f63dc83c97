"""The installed connectors: found once per process through the `auditor.connectors` entry points.

The core never imports a connector by name: it receives a `ConnectorRegistry` and asks it what a
platform declares (settings, policy section, profile links, prices). Tests build one from classes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import ENTRY_POINT_GROUP, Connector, ConnectorOptions, ConnectorSettings, RequestGate
from connectors.scrub import scrub

log = logging.getLogger("auditor.connectors")


@cache
def _entry_point_classes() -> tuple[type[Connector], ...]:
    """Every connector class the entry points name, loaded once per process (a broken one is skipped)."""
    found: list[type[Connector]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as exc:  # a broken plugin must not stop the others
            log.warning("connector %s could not be loaded: %s", entry.name, scrub(f"{type(exc).__name__}: {exc}"))
            continue
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            log.warning("entry point %s is not a Connector subclass; ignored", entry.name)
            continue
        found.append(cls)
        for noisy in cls.noisy_loggers:  # an SDK's own chatter; its warnings and errors still show
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return tuple(found)


class ConnectorRegistry(Mapping[str, type[Connector]]):
    """Connector classes by name or alias (case-insensitive). Iterating gives each canonical name once."""

    _injected: ConnectorRegistry | None = None

    def __init__(
        self,
        classes: Iterable[type[Connector]],
        *,
        secrets_file: Path | None = None,
        gates: Callable[[str], RequestGate | None] | None = None,
    ) -> None:
        self._secrets_file = secrets_file
        self._gates = gates
        self._classes: dict[str, type[Connector]] = {}
        self._by_key: dict[str, type[Connector]] = {}
        for cls in classes:
            self._classes.setdefault(cls.name, cls)
            self._by_key.setdefault(cls.name.lower(), cls)
        for cls in self._classes.values():  # names win over another connector's alias
            for alias in cls.aliases:
                self._by_key.setdefault(alias.lower(), cls)
        self._settings: dict[str, ConnectorSettings] = {}

    @classmethod
    def installed(cls) -> ConnectorRegistry:
        """The connectors installed in this environment (or the one `inject` set, for tests).

        The classes are loaded once per process; each registry loads a connector's settings once.
        """
        if cls._injected is not None:
            return cls._injected.fresh()
        return cls(_entry_point_classes())

    @classmethod
    def inject(cls, registry: ConnectorRegistry | None) -> None:
        """Make `installed()` return (a fresh copy of) this registry; None restores the entry points."""
        cls._injected = registry

    def fresh(self) -> ConnectorRegistry:
        """The same classes, with settings not yet loaded (each run reads the environment anew)."""
        return ConnectorRegistry(self._classes.values(), secrets_file=self._secrets_file, gates=self._gates)

    def with_classes(self, *classes: type[Connector]) -> ConnectorRegistry:
        return ConnectorRegistry(
            [*self._classes.values(), *classes], secrets_file=self._secrets_file, gates=self._gates
        )

    def for_credentials(
        self, secrets_file: Path | None, gates: Callable[[str], RequestGate | None] | None = None
    ) -> ConnectorRegistry:
        """The same classes for one division of a deployment serving several (the workers): every
        connector's settings read from the division's secrets file only (None: the environment), and
        `gates(name)` pacing the requests of that connector's credential across processes."""
        return ConnectorRegistry(self._classes.values(), secrets_file=secrets_file, gates=gates)

    # --- Mapping --------------------------------------------------------------------------

    def __getitem__(self, name_or_alias: str) -> type[Connector]:
        return self._by_key[name_or_alias.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, name_or_alias: object) -> bool:
        return isinstance(name_or_alias, str) and name_or_alias.lower() in self._by_key

    def get(self, name_or_alias: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._by_key.get(name_or_alias.lower(), default) if isinstance(name_or_alias, str) else default

    def canonical(self, name: str) -> str:
        """`x` -> `twitter`: the registry may use a connector's alias; an unknown name is kept (lower-case)."""
        cls = self.get(name)
        return cls.name if cls is not None else name.lower()

    def names(self) -> list[str]:
        return sorted(self._classes)

    def aliases(self) -> dict[str, str]:
        """Every name and alias -> the canonical name."""
        return {key: cls.name for key, cls in self._by_key.items()}

    # --- what a connector declares ----------------------------------------------------------

    def settings_for(self, name: str) -> ConnectorSettings:
        """The connector's environment settings, loaded once per registry (its secrets registered)."""
        cls = self[name]
        if cls.name not in self._settings:
            model = cls.settings_model
            file = self._secrets_file
            self._settings[cls.name] = model() if file is None else model.from_secrets_file(file)
        return self._settings[cls.name]

    def gate_for(self, name: str) -> RequestGate | None:
        """What paces the connector's credential across processes (workers); None for `auditor run`."""
        return self._gates(self[name].name) if self._gates is not None else None

    def options_for(self, name: str, sections: Mapping[str, Mapping[str, Any]]) -> ConnectorOptions:
        """The connector's policy section (validated at load; defaults when the policy has none)."""
        cls = self[name]
        return cls.options_model.model_validate(dict(sections.get(cls.name) or {}))

    def check_sections(self, sections: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
        """Problems of a policy's `connectors:` sections: (connector, field or None, message)."""
        problems: list[tuple[str, str | None, str]] = []
        for name, section in sections.items():
            cls = self.get(str(name))
            if cls is None or cls.name != name:
                known = ", ".join(self.names()) or "none"
                hint = f" (use {cls.name!r})" if cls is not None else ""
                problems.append((str(name), None, f"no connector named {name!r} is installed{hint} (known: {known})"))
                continue
            if section is not None and not isinstance(section, Mapping):
                problems.append((name, None, "expected a mapping of the connector's options"))
                continue
            try:
                cls.options_model.model_validate(dict(section or {}))
            except ValidationError as exc:
                for item in exc.errors():
                    where = ".".join(str(part) for part in item["loc"]) or None
                    message = item["msg"]
                    if item["type"] == "extra_forbidden":
                        message = "unknown option (check the spelling)"
                    if "input" in item and item["type"].startswith(("literal", "enum")):
                        message = f"{message} (got {item['input']!r})"
                    problems.append((name, where, message))
        return problems

    def legacy_keys(self) -> dict[str, tuple[str, str]]:
        """Old top-level policy key -> (connector, field of its section)."""
        return {old: (cls.name, new) for cls in self.values() for old, new in cls.legacy_policy_keys.items()}

    def approved_by_default(self) -> list[str]:
        return [name for name, cls in sorted(self._classes.items()) if cls.approved_by_default]

    def default_prices(self) -> dict[str, float]:
        return {f"{cls.name}:{item}": price for cls in self.values() for item, price in cls.prices.items()}

    def shop_links(self) -> list[str]:
        return [link for cls in self.values() for link in cls.shop_links]

    def noisy_loggers(self) -> list[str]:
        return sorted({logger for cls in self.values() for logger in cls.noisy_loggers})

    def credential_variables(self) -> list[str]:
        return [variable for cls in self.values() for variable in cls.credential_variables]

    # --- profile links ----------------------------------------------------------------------

    def _conventions(self) -> dict[str, tuple[tuple[str, ...], str | None]]:
        """Platform -> (profile hosts, profile url): connectors first, then what one declares for others."""
        found: dict[str, tuple[tuple[str, ...], str | None]] = {}
        for cls in self.values():
            if cls.profile_hosts or cls.profile_url:
                found[cls.name] = (cls.profile_hosts, cls.profile_url)
        for cls in self.values():
            for platform, (hosts, url) in cls.other_platforms.items():
                found.setdefault(platform, (hosts, url))
        return found

    def platform_of_host(self, host: str) -> str | None:
        host = host.lower().removeprefix("www.").removeprefix("m.")
        for platform, (hosts, _url) in self._conventions().items():
            if host in hosts:
                return platform
        return None

    def profile_link(self, platform: str, handle: str) -> str | None:
        _hosts, template = self._conventions().get(self.canonical(platform), ((), None))
        return template.format(handle=handle.lstrip("@")) if template else None

    def profile_link_pattern(self) -> re.Pattern[str] | None:
        """A link to a profile on any platform declared here: (host, handle, channel id when given)."""
        hosts = sorted({h for hosts, _url in self._conventions().values() for h in hosts}, key=lambda h: (-len(h), h))
        if not hosts:
            return None
        alternatives = "|".join(re.escape(h) for h in hosts)
        return re.compile(
            rf"https?://(?:www\.|m\.)?({alternatives})/(@?[A-Za-z0-9_.\-]+)(?:/(UC[A-Za-z0-9_-]{{22}}))?",
            re.IGNORECASE,
        )
