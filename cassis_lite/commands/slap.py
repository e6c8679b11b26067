"""``cassis-lite slap URL --fmin MHZ --fmax MHZ``: the lines of a SLAP 1.0 service (ours,
``cassis-lite serve``'s ``/slap``, or any VO line service) written like ``cassis-lite lines``."""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request

from cassis_lite.commands.lines import add_output_options, write_transitions
from cassis_lite.errors import CassisError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "slap", help="query a SLAP (Simple Line Access) service for the lines of a frequency range",
        description="Transitions from an IVOA SLAP 1.0 service (rest frequencies FMIN..FMAX in MHz, sent as "
        "vacuum wavelengths in metres), written like `cassis-lite lines`.")
    p.add_argument("url", metavar="URL", help="the service's base URL, e.g. http://127.0.0.1:8000/slap")
    p.add_argument("--fmin", type=float, required=True, metavar="MHZ")
    p.add_argument("--fmax", type=float, required=True, metavar="MHZ")
    p.add_argument("--species", nargs="+", default=None, metavar="NAME",
                   help="species (CHEMICAL_ELEMENT): names as the service knows them")
    p.add_argument("--eup-max", type=float, default=None, metavar="K", help="keep E_up <= K (INITIAL_LEVEL_ENERGY)")
    p.add_argument("--aij-min", type=float, default=None, metavar="S-1", help="keep A_ij >= S-1 (EINSTEIN_A)")
    p.add_argument("--maxrec", type=int, default=None, metavar="N", help="at most N lines (MAXREC)")
    p.add_argument("--database", choices=("bundled", "full"), default=None,
                   help="cassis-lite serve only: which of its databases (DATABASE=...)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="network timeout (default 60 s)")
    add_output_options(p)
    p.set_defaults(func=run)


def fetch(url: str, timeout: float) -> bytes:
    """GET ``url`` (urllib); network problems become one-line errors that say what happened."""
    from cassis_lite import __version__

    req = urllib.request.Request(url, headers={"User-Agent": f"cassis-lite/{__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()
    except urllib.error.HTTPError as exc:
        raise CassisError(f"the service answered HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise CassisError(f"cannot reach {url.split('?')[0]}: {exc.reason} (offline, or a wrong address?)") from None
    except (TimeoutError, OSError) as exc:
        raise CassisError(f"cannot reach {url.split('?')[0]}: {exc} (offline, or a wrong address?)") from None


def run(args) -> int:
    from cassis_lite.vo import slap

    extra = {"DATABASE": args.database} if args.database else None
    url = slap.query_url(args.url, args.fmin, args.fmax, species=args.species, eup_max_k=args.eup_max,
                         aij_min=args.aij_min, maxrec=args.maxrec, extra=extra)
    # lines of a service without a source column are labelled with its host
    answer = slap.read_answer(fetch(url, args.timeout), source=urllib.parse.urlsplit(args.url).netloc, label=args.url)
    if answer.overflow:
        print(f"cassis-lite: warning: the service truncated its answer ({answer.message or 'MAXREC'})",
              file=sys.stderr)
    write_transitions(answer.transitions, args, {"service": args.url, "fmin_mhz": args.fmin,
                                                  "fmax_mhz": args.fmax})
    return 0
