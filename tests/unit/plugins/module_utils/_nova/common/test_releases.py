"""releases.py against the installed nova (the oracle)."""

import inspect

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import releases as r


def _installed_filters():
    import nova.scheduler.filters as filters_pkg
    from nova import loadables  # noqa: F401  (nova's own loader)
    handler = filters_pkg.HostFilterHandler()
    classes = handler.get_all_classes()
    return {cls.__name__ for cls in classes if inspect.isclass(cls)}


def test_in_tree_filters_are_exactly_novas():
    assert r.IN_TREE_FILTERS == _installed_filters()


def test_removed_filters_are_really_gone():
    installed = _installed_filters()
    assert not installed & set(r.REMOVED_FILTERS)


def test_default_enabled_filters_are_novas_default():
    import nova.conf
    conf = nova.conf.CONF
    default = conf.filter_scheduler.enabled_filters
    assert list(r.DEFAULT_ENABLED_FILTERS) == list(default)


@pytest.mark.parametrize("text, major", [("34.0.0", 34), ("20", 20), (28, 28), ("Train", 20), ("train", 20),
                                         ("2023.2", 28), ("Bobcat", 28), (None, None)])
def test_nova_major(text, major):
    assert r.nova_major(text) == major


def test_unknown_release_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown nova release 'Zebra'"):
        r.nova_major("Zebra")


def test_removed_filter_depends_on_release():
    assert r.filter_removed("RamFilter", 19) is None
    assert r.filter_removed("RamFilter", 20)["replaced_by"].startswith("placement MEMORY_MB")
    assert r.filter_removed("AvailabilityZoneFilter", 27) is None
    assert r.filter_removed("AvailabilityZoneFilter") is not None
    assert "map_az_to_placement_aggregate" in r.removed_filter_message("AvailabilityZoneFilter")
