#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nova_config
short_description: Safely set options in nova.conf, validated by the host's own Nova
version_added: "0.1.0"
description:
  - Sets or removes the given options in an oslo.config file such as C(/etc/nova/nova.conf).
    Only the lines of those options change; every other line, comment and blank line is kept
    byte for byte. A missing option is written under its commented template line
    (C(#option = <default>)) when the file has one, otherwise at the end of its section.
  - Before the file is replaced, the candidate is written to a temporary file in the same
    directory and checked with the host's own Nova (O(nova_python)) - each managed option must
    be an option of the installed Nova and every option value in the file must load (the
    checks C(nova-compute) does at start, such as C(could not convert string to float), C(Valid values
    are ...)). CPU set options are checked against the host's CPUs. Only when all checks pass
    is the temporary file renamed over the original (atomic, same owner, group and mode). On
    any failure the original file is left exactly as it was. Messages name O(path) and the
    section, option and line as they stand in it (never the temporary file).
  - Only what would break Nova refuses the edit (a value Nova cannot load, a host filter the
    scheduler cannot load, a bad CPU set). Names in the file that Nova does not read (left over
    from older releases, typos) only produce warnings, with the release that retired them and
    what replaced them when known; Nova ignores such options.
  - Changed or added lines keep the file's own style (C(key=value) or C(key = value)).
  - A O(path) that is a symbolic link is followed (O(follow)) - the file it points to is edited
    in place and the link stays a link, so services reading either name see the change.
  - Values containing a line break or another control character are refused, so a value can
    never smuggle a C([section]) header or another option into the file.
author:
  - stackops.nova developers (@stackops)
options:
  path:
    description: The file to edit. It must exist.
    type: path
    default: /etc/nova/nova.conf
  options:
    description:
      - The options to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      section:
        description: The section, for example V(DEFAULT), V(libvirt), V(filter_scheduler).
        type: str
        required: true
      option:
        description: The option name.
        type: str
        required: true
      value:
        description:
          - The value. Booleans are written as V(true)/V(false); a list writes one line per
            element (for multi-valued options such as C([filter_scheduler] available_filters));
            write list options such as C(enabled_filters) as one comma-separated string.
          - V(null) removes the option (same as O(options[].state=absent)).
        type: raw
      state:
        description: Whether the option is present with O(options[].value) or absent.
        type: str
        choices: [present, absent]
        default: present
      label:
        description:
          - The name the user knows this value by (for example a role variable); error
            messages use it.
        type: str
  backup:
    description: Keep a timestamped copy of the original file when it changes.
    type: bool
    default: false
  validate:
    description:
      - Check the candidate file with the host's Nova before putting it in place.
      - Turn off only for a host without Nova installed.
    type: bool
    default: true
  nova_python:
    description:
      - The Python interpreter that can import C(nova) (a virtualenv's python with
        openstack-ansible or kolla images). Defaults to the interpreter running this module.
    type: path
  config_files_after:
    description:
      - Further files that the service loads after O(path) (for example Debian's
        C(/etc/nova/nova-compute.conf)). Values there win; they are loaded for the check, and a
        managed option that one of them also sets produces a warning.
    type: list
    elements: path
    default: []
  validate_names:
    description:
      - Check every option name of the file against the options of Nova's own option namespaces
        (the list of Nova's C(nova-config-generator.conf) when the host has it, otherwise a copy
        of it kept in this collection; only namespaces installed on the host are used) - the
        lookup C(oslo-config-validator) does. Names Nova does not read are reported as warnings
        (returned in RV(unknown_options)); they never refuse the edit.
    type: bool
    default: true
  validator:
    description:
      - A command run on the candidate file before it replaces O(path), as the C(validate) option
        of M(ansible.builtin.template) - C(%s) is replaced by the candidate's path (a file next to
        O(path), with its owner and mode; in check mode a temporary file). A non-zero exit refuses
        the edit - O(path) is left unchanged and the command's output is in the message.
      - It runs after Nova's own checks (O(validate)), only when the file would change, in check
        mode too. The command is split into arguments as a shell would, but no shell runs it
        (no pipes or redirections); the value must contain C(%s).
      - V(oslo-config-validator) alone (the former default, never run) is ignored with a warning.
    type: str
  validator_namespaces:
    description:
      - The option namespaces (C(oslo.config.opts) entry points) whose options are valid names.
        Default - Nova's own generator namespace list (see O(validate_names)).
    type: list
    elements: str
  follow:
    description:
      - When O(path) is a symbolic link, edit the file it points to and keep the link (as
        Ansible's file modules do with C(follow)). With V(false) a symbolic link is refused
        rather than replaced by a regular file.
    type: bool
    default: true
  check_cpu_sets:
    description:
      - Check C([compute] cpu_dedicated_set), C([compute] cpu_shared_set) and
        C([DEFAULT] vcpu_pin_set) of the candidate file against the host's CPUs
        (O(host_cpus)) - syntax as Nova parses it, no index beyond the host, no overlap.
    type: bool
    default: true
  host_cpus:
    description:
      - The host's CPU indexes as a CPU list (V(0-63)). Defaults to the content of
        C(/sys/devices/system/cpu/present).
    type: str
  check_scheduler_filters:
    description:
      - Check that every filter of C([filter_scheduler] enabled_filters) can be loaded by the
        installed Nova from C([filter_scheduler] available_filters), as C(nova-scheduler) does at
        start. A removed filter fails with the release that removed it and what replaced it.
    type: bool
    default: false
  removed_upstream_filters:
    description:
      - What to do with an enabled filter that the installed Nova still has but a later Nova
        removed (for example C(AvailabilityZoneFilter) on Nova older than 28.0).
    type: str
    choices: [warn, fail, ignore]
    default: warn
attributes:
  check_mode:
    support: full
    description: The candidate is built and validated; nothing is written.
  diff_mode:
    support: full
    description: Shows the file before and after the edit.
  idempotent:
    support: full
    description: Options already holding their values leave the file untouched.
  platform:
    support: full
    platforms: posix
    description: Hosts with Nova installed (its Python must import C(nova)).
notes:
  - The check loads Nova's option registry in a separate process, which takes a few seconds.
seealso:
  - module: stackops.nova.live_migration_preflight
"""

EXAMPLES = r"""
- name: Let placement own the allocation ratios, seed them at provider creation
  stackops.nova.nova_config:
    options:
      - {section: DEFAULT, option: initial_cpu_allocation_ratio, value: "4.0"}
      - {section: DEFAULT, option: cpu_allocation_ratio, state: absent}
      - {section: compute, option: cpu_dedicated_set, value: "2-7,^4"}
    backup: true

- name: Scheduler filters, checked against the installed nova
  stackops.nova.nova_config:
    options:
      - section: filter_scheduler
        option: enabled_filters
        value: ComputeFilter,ImagePropertiesFilter
        label: nova_scheduler_enabled_filters
    check_scheduler_filters: true

- name: Also run a site check on the candidate file before it is put in place
  stackops.nova.nova_config:
    options:
      - {section: DEFAULT, option: debug, value: "true"}
    validator: /usr/local/bin/check-nova-conf --file %s
"""

RETURN = r"""
changes:
  description: The options whose lines changed, with the values before and after (lists, one element per line).
  returned: always
  type: list
  elements: dict
  sample: [{"section": "DEFAULT", "option": "initial_cpu_allocation_ratio", "before": [], "after": ["4.0"]}]
values:
  description: The values the installed Nova reads for the managed options from the candidate file (typed).
  returned: when validation ran
  type: dict
  sample: {"DEFAULT.initial_cpu_allocation_ratio": 4.0}
nova_version:
  description: The version of the Nova that validated the file.
  returned: when validation ran
  type: str
  sample: 26.2.2
validator_rc:
  description: The exit status of the O(validator) command on the candidate file (0 - accepted).
  returned: when O(validator) ran
  type: int
  sample: 0
backup_file:
  description: The backup of the original file.
  returned: when a backup was made
  type: str
filters:
  description: Host filters the installed Nova can load and the enabled ones.
  returned: when O(check_scheduler_filters) is set and validation ran
  type: dict
unknown_options:
  description:
    - The option names of the file that Nova does not read (each also a warning), as they stand
      in the file - V(section), V(option), V(line) - and V(renamed) when it is a deprecated
      name of a current option. Nova ignores them.
  returned: when O(validate_names) is set and validation ran
  type: list
  elements: dict
  sample: [{"section": "DEFAULT", "option": "verbose", "line": 12}]
namespaces:
  description: The option namespaces whose options were taken as valid names.
  returned: when O(validate_names) is set and validation ran
  type: list
  elements: str
path:
  description: The file edited, when O(path) is a symbolic link (the link itself is kept).
  returned: when O(path) is a symbolic link
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.edit import ConfEdit, EditError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/nova/nova.conf"),
            options=dict(type="list", elements="dict", required=True, options=dict(
                section=dict(type="str", required=True),
                option=dict(type="str", required=True),
                value=dict(type="raw"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                label=dict(type="str"),
            )),
            backup=dict(type="bool", default=False),
            validate=dict(type="bool", default=True),
            nova_python=dict(type="path"),
            config_files_after=dict(type="list", elements="path", default=[]),
            validate_names=dict(type="bool", default=True),
            validator=dict(type="str"),
            validator_namespaces=dict(type="list", elements="str"),
            follow=dict(type="bool", default=True),
            check_cpu_sets=dict(type="bool", default=True),
            host_cpus=dict(type="str"),
            check_scheduler_filters=dict(type="bool", default=False),
            removed_upstream_filters=dict(type="str", choices=["warn", "fail", "ignore"], default="warn"),
        ),
        supports_check_mode=True,
    )
    edit = ConfEdit(module.params, check_mode=module.check_mode, diff=module._diff,
                    replace=module.atomic_move, backup=module.backup_local)
    try:
        result, warnings = edit.run()
    except EditError as exc:
        # nothing was written: the intended changes are reported, with changed=false
        module.fail_json(msg=exc.message, **exc.result)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
