#!/bin/bash
# netns_vpn_reroute.sh with an unpaced 400 MiB download: the path dies under a full congestion
# window. Needs root.
BULK=1 exec bash "$(dirname "$0")/netns_vpn_reroute.sh"
