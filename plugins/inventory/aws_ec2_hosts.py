# Copyright (c) 2017 Ansible Project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The documentation is amazon.aws 10.1.2's plugins/inventory/aws_ec2.py, whose options this plugin keeps.

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_ec2_hosts
short_description: EC2 inventory source (amazon.aws.aws_ec2 without its disable_lookups deprecation)
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
description:
  - Get inventory hosts from Amazon Web Services EC2.
  - This is C(amazon.aws.aws_ec2) of amazon.aws 10.1.2 (the collection of the ansible 12.3.0 bundle), with
    its options, its behaviour and its code, but for one difference. amazon.aws 10.1.2 passes
    C(disable_lookups=False) to the templar for every templatable option (O(regions), O(filters), the
    credentials), which ansible-core 2.19 answers with a deprecation warning at the start of every run;
    C(False) is the default, so this plugin does not pass it. amazon.aws fixed it upstream
    (ansible-collections/amazon.aws PR 2864, issue 2863); once the installable bundle carries the fix,
    the inventory files name C(amazon.aws.aws_ec2) again and this file goes.
  - The inventory file is a YAML configuration file and must end with C(aws_ec2.{yml|yaml}). For example - C(my_inventory.aws_ec2.yml).
notes:
  - If no credentials are provided and the control node has an associated IAM instance profile then the
    role will be used for authentication.
author:
  - Sloane Hertel (@s-hertel)
  - mensetsu platform team (!UNKNOWN)
options:
  regions:
    description:
      - A list of regions in which to describe EC2 instances.
      - If empty (the default) default this will include all regions, except possibly restricted ones like V(us-gov-west-1) and V(cn-north-1).
    type: list
    elements: str
    default: []
  hostnames:
    description:
      - A list in order of precedence for hostname variables.
      - The elements of the list can be a dict with the keys mentioned below or a string.
      - Can be one of the options specified in U(http://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instances.html#options).
      - If value provided does not exist in the above options, it will be used as a literal string.
      - To use tags as hostnames use the syntax tag:Name=Value to use the hostname Name_Value, or tag:Name to use the value of the Name tag.
      - Jinja2 filters can be added to the hostnames string. Added in version 9.2.0.
    type: list
    elements: raw
    default: []
    suboptions:
      name:
        description:
          - Name of the host.
        type: str
        required: true
      prefix:
        description:
          - Prefix to prepend to O(hostnames.name). Same options as O(hostnames.name).
          - If O(hostnames.prefix) is specified, final hostname will be O(hostnames.prefix) + O(hostnames.separator) + O(hostnames.name).
        type: str
        default: ''
        required: false
      separator:
        description:
          - Value to separate O(hostnames.prefix) and O(hostnames.name) when O(hostnames.prefix) is specified.
        type: str
        default: '_'
        required: false
  allow_duplicated_hosts:
    description:
      - By default, the first name that matches an entry of the O(hostnames) list is returned.
      - Turn this flag on if you don't mind having duplicated entries in the inventory
        and you want to get all the hostnames that match.
    type: bool
    default: false
    version_added: 5.0.0
  filters:
    description:
      - A dictionary of filter value pairs.
      - Available filters are listed here U(http://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instances.html#options).
    type: dict
    default: {}
  include_filters:
    description:
      - A list of filters. Any instances matching at least one of the filters are included in the result.
      - Available filters are listed here U(http://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instances.html#options).
      - Every entry in this list triggers a search query. As such, from a performance point of view, it's better to
        keep the list as short as possible.
    type: list
    elements: dict
    default: []
    version_added: 1.5.0
  exclude_filters:
    description:
      - A list of filters. Any instances matching one of the filters are excluded from the result.
      - The filters from O(exclude_filters) take priority over the O(include_filters) and O(filters) keys.
      - Available filters are listed here U(http://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instances.html#options).
      - Every entry in this list triggers a search query. As such, from a performance point of view, it's better to
        keep the list as short as possible.
    type: list
    elements: dict
    default: []
    version_added: 1.5.0
  strict_permissions:
    description:
      - By default if a 403 (Forbidden) error code is encountered this plugin will fail.
      - You can set this option to False in the inventory config file which will allow 403 errors to be gracefully skipped.
    type: bool
    default: true
  use_contrib_script_compatible_sanitization:
    description:
      - By default this plugin is using a general group name sanitization to create safe and usable group names for use in Ansible.
        This option allows you to override that, in efforts to allow migration from the old inventory script and
        matches the sanitization of groups when the script's ``replace_dash_in_groups`` option is set to ``False``.
        To replicate behavior of ``replace_dash_in_groups = True`` with constructed groups,
        you will need to replace hyphens with underscores via the regex_replace filter for those entries.
      - For this to work you should also turn off the TRANSFORM_INVALID_GROUP_CHARS setting,
        otherwise the core engine will just use the standard sanitization on top.
      - This is not the default as such names break certain functionality as not all characters are valid Python identifiers
        which group names end up being used as.
    type: bool
    default: false
  use_contrib_script_compatible_ec2_tag_keys:
    description:
      - Expose the host tags with ec2_tag_TAGNAME keys like the old ec2.py inventory script.
      - The use of this feature is discouraged and we advise to migrate to the new ``tags`` structure.
    type: bool
    default: false
    version_added: 1.5.0
  hostvars_prefix:
    description:
      - The prefix for host variables names coming from AWS.
    type: str
    version_added: 3.1.0
  hostvars_suffix:
    description:
      - The suffix for host variables names coming from AWS.
    type: str
    version_added: 3.1.0
  use_ssm_inventory:
    description:
      - Enables fetching additional EC2 instance information from the AWS Systems Manager (SSM) inventory service into hostvars.
      - By leveraging the SSM inventory data, the O(use_ssm_inventory) option provides additional details and attributes
        about the EC2 instances in your inventory. These details can include operating system information, installed software,
        network configurations, and custom inventory attributes defined in SSM.
    type: bool
    default: false
    version_added: 6.0.0
  route53_enabled:
    description:
      - Whether or not to use the Route53 DNS as host name.
      - When set to V(true), Route53 hostnames will be included.
    type: bool
    default: false
    version_added: 10.1.0
  route53_hostnames:
    description:
      - Specifies the Route53 DNS name suffix to consider.
      - Consider only Route53 zone with name ending with the value specified here.
    type: list
    elements: str
    default: []
    version_added: 10.1.0
  route53_excluded_zones:
    description:
      - A list of Route53 zones to exclude.
    type: list
    elements: str
    default: []
    version_added: 10.1.0
"""

EXAMPLES = r"""
# inventories/prod/aws_ec2.yml
plugin: aws_ec2_hosts
regions: [ap-northeast-1]
filters:
  tag:Project: mensetsu
  tag:Environment: prod
  tag:Role: app
  instance-state-name: running
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.inventory.aws_ec2 import InventoryModule as AwsEc2InventoryModule
from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase


class TemplatedOptions(AWSInventoryBase.TemplatedOptions):
    """amazon.aws's templated options, templated without ``disable_lookups`` (its default, False)."""

    def get(self, *args: Any) -> Any:
        value = self.original_options.get(*args)
        if not value or not self.templar or args[0] not in self.TEMPLATABLE_OPTIONS:
            return value
        if isinstance(value, dict):
            return {k: self.templar.template(variable=v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.templar.template(variable=v) for v in value]
        if not self.templar.is_template(value):
            return value
        return self.templar.template(variable=value)


class InventoryModule(AwsEc2InventoryModule):
    NAME = "aws_ec2_hosts"

    def get_options(self, *args: Any) -> Any:
        return TemplatedOptions(self.templar, super(AWSInventoryBase, self).get_options(*args))

    def get_option(self, option: str, hostvars: Any = None) -> Any:
        value = super(AWSInventoryBase, self).get_option(option, hostvars)
        return TemplatedOptions(self.templar, {option: value}).get(option)
