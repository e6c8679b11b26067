"""Runs inside .venv-radex: JSON list of RADEX parameter dicts on stdin -> JSON results on stdout."""

import json
import sys

from spectralradex import radex

models = json.loads(sys.stdin.read())
results = []
for params in models:
    p = radex.get_default_parameters()
    p.update(params)
    out = radex.run(p)
    if out is None:
        raise SystemExit(f"RADEX failed for {params}")
    results.append([
        {"freq_ghz": float(r["freq"]), "eup_k": float(r["E_UP (K)"]), "tex_k": float(r["T_ex"]),
         "tau": float(r["tau"]), "tr_k": float(r["T_R (K)"]), "qup": r["Qup"], "qlow": r["Qlow"]}
        for _, r in out.iterrows()
    ])
print(json.dumps(results))
