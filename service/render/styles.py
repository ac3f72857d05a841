"""The colours and shapes of the diagram, in one place so the legend cannot drift.

Exposure drives the strongest signal: red is reachable from the network,
amber from one interface, green from this host only, slate from the Compose
networks only. Built images are blue and solid; pulled images grey and dashed.
"""

from __future__ import annotations

from typing import Final

FONT: Final = "DejaVu Sans"

INK: Final = "#1f2937"
MUTED: Final = "#6b7280"

BUILT_FILL: Final = "#dbeafe"
BUILT_LINE: Final = "#1d4ed8"
PULLED_FILL: Final = "#f3f4f6"
PULLED_LINE: Final = "#4b5563"

SERVICE_FILL: Final = "#ffffff"
SERVICE_LINE: Final = "#374151"

PUBLIC_FILL: Final = "#fee2e2"
PUBLIC_LINE: Final = "#dc2626"
INTERFACE_FILL: Final = "#fef3c7"
INTERFACE_LINE: Final = "#b45309"
LOOPBACK_FILL: Final = "#dcfce7"
LOOPBACK_LINE: Final = "#15803d"
INTERNAL_FILL: Final = "#e2e8f0"
INTERNAL_LINE: Final = "#475569"

HOST_FILL: Final = "#fafaf9"
HOST_LINE: Final = "#78716c"
NETWORK_FILL: Final = "#f8fafc"
NETWORK_LINE: Final = "#94a3b8"
INTERNAL_NETWORK_FILL: Final = "#f1f5f9"

DANGER: Final = "#b91c1c"
WARNING: Final = "#b45309"
INFO: Final = "#1d4ed8"

DEPENDS_LINE: Final = "#7c3aed"
VOLUME_FILL: Final = "#ede9fe"
VOLUME_LINE: Final = "#6d28d9"

#: How each exposure of a host port is drawn: fill, line, and the words shown.
EXPOSURE_STYLES: Final = {
    "public": (PUBLIC_FILL, PUBLIC_LINE, "open to the network"),
    "interface": (INTERFACE_FILL, INTERFACE_LINE, "one host interface"),
    "loopback": (LOOPBACK_FILL, LOOPBACK_LINE, "this host only"),
    "host-network": (PUBLIC_FILL, PUBLIC_LINE, "on the host network"),
    "internal": (INTERNAL_FILL, INTERNAL_LINE, "internal only"),
}

SEVERITY_COLOURS: Final = {"danger": DANGER, "warning": WARNING, "info": INFO}
