# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The connection options shared by every API module and the inventory plugin.
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The cloud to talk to, either the name of an entry in C(clouds.yaml)
        (searched in C(./clouds.yaml), C(~/.config/openstack/clouds.yaml), C(/etc/openstack/clouds.yaml),
        or the file named by E(OS_CLIENT_CONFIG_FILE)), or a dict of connection settings as a
        C(clouds.yaml) entry would hold them.
      - When omitted, openstacksdk reads the E(OS_*) environment variables (E(OS_CLOUD), E(OS_AUTH_URL), ...).
      - 'Set it once for every module of the collection with C(module_defaults) and the action group
        C(group/stackops.nova.nova), for example C({group/stackops.nova.nova: {cloud: mycloud}}).'
    type: raw
  auth:
    description:
      - Authentication settings (C(auth_url), C(username), C(password), C(project_name),
        C(user_domain_name), C(project_domain_name), ...) overriding those of O(cloud).
      - Never printed, not even with C(-vvv).
    type: dict
  auth_type:
    description:
      - The keystoneauth plugin, for example V(password), V(v3applicationcredential) or V(token).
    type: str
  region_name:
    description:
      - The region whose endpoints are used.
    type: str
  interface:
    description:
      - Which catalog endpoints to use. Defaults to the cloud's setting, else V(public).
    type: str
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the endpoints. Defaults to the cloud's setting, else V(true).
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - A CA bundle to verify the endpoints' certificates with.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - A client certificate for endpoints that require one.
    type: path
    aliases: [cert]
  client_key:
    description:
      - The private key of O(client_cert).
    type: path
    aliases: [key]
  api_timeout:
    description:
      - Seconds to wait for each request to connect, and again for its answer, to every service
        (keystone, nova, placement, glance), authentication and version discovery included.
      - When omitted, the cloud's own C(api_timeout) (C(clouds.yaml) or O(cloud)), else V(30).
      - A service that does not answer within it is reported as timed out, by name, and is not asked
        again during the run.
    type: int
  deadline:
    description:
      - Seconds for everything one run asks the cloud (one task, or one inventory parse), retries included.
        No request starts after it; a request running when it falls is cut short and the task fails
        with a message naming the service it waited for and this deadline.
    type: int
    default: 300
notes:
  - Transient failures (connection refused or reset; HTTP 502, 503 and 504) are retried up to four
    times with exponential backoff (0.5, 1 and 2 s) within O(deadline). A service that refused four
    connections, or timed out once, counts as down for the rest of the run, so a hung or dead service
    costs about O(api_timeout), never a multiple of it.
  - Authentication is checked first, so a wrong password, an unknown cloud name, an unreachable
    endpoint or a missing catalog entry fails with a message saying which.
requirements:
  - python >= 3.11
  - openstacksdk >= 4.0
"""

    # Attributes of read-only info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode).
    support: none
    details: The module changes nothing.
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
"""
