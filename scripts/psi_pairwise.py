#!/usr/bin/env python3
"""Mutual-interest detection done pairwise with OpenMined PSI, for `reciprocity-bench scenario`.

Reads a JSON list from standard input: entry i lists the members member i marks. For every mark (i marks j)
it runs one whole PSI protocol, client and server in this process: i, as client, with the set of pairs it
marked, against j's set as server. The intersection tells i whether j marked it back, which is what a
Reciprocity match tells them. Prints `psi_cpu_s` (this process's CPU time for the protocols) and
`psi_mutual_pairs`, which must equal the matches the server made.
"""
import json
import sys
import time

import private_set_intersection.python as psi

FALSE_POSITIVE_RATE = 1e-9


def main() -> None:
    targets = json.load(sys.stdin)
    # A mark as a set element: the unordered pair, so that i's element for j equals j's element for i.
    sets = [[f"{min(i, j)}:{max(i, j)}" for j in marked] for i, marked in enumerate(targets)]
    mutual = set()
    start = time.process_time()
    for i, marked in enumerate(targets):
        for j in marked:
            client = psi.client.CreateWithNewKey(True)
            server = psi.server.CreateWithNewKey(True)
            setup = server.CreateSetupMessage(FALSE_POSITIVE_RATE, len(sets[i]), sets[j], psi.DataStructure.RAW)
            response = server.ProcessRequest(client.CreateRequest(sets[i]))
            for index in client.GetIntersection(setup, response):
                mutual.add(sets[i][index])
    print(f"psi_cpu_s: {time.process_time() - start:.3f}")
    print(f"psi_mutual_pairs: {len(mutual)}")


if __name__ == "__main__":
    main()
