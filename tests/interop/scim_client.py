"""PyPI scim2-client (with scim2-models) drives the provider's SCIM service provider as an HR
system would: discovery, users with the enterprise extension, filters, sorting and pages,
PATCH, PUT with ETags, groups with members, bulk with bulkId references, deletion. Every
answer goes through scim2-client's own checks (status codes, content types, payloads against
the schemas the server publishes). Prints what the Rust test (tests/e2e/scim.rs) checks next,
as JSON.

Usage: SCIM_TOKEN=... python3 scim_client.py BASE_URL PASSWORD
"""

import json
import os
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import BulkRequest, Error, PatchOp, SearchRequest

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

base, password = sys.argv[1], sys.argv[2]
http = httpx2.Client(
    base_url=base,
    headers={"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"},
)
scim = SyncSCIMClient(http)
scim.discover()
User = scim.get_resource_model("User")
Group = scim.get_resource_model("Group")
out = {}


def check(cond, what):
    if not cond:
        raise SystemExit(f"check failed: {what}")


def dump(resource):
    return resource.model_dump(scim_ctx=None, mode="json", by_alias=True, exclude_none=True)


def user(name, family, given, number, roles, extra=None):
    body = {
        "schemas": [CORE, ENT],
        "userName": name,
        "name": {"familyName": family, "givenName": given},
        "emails": [{"value": f"{name.lower()}@finance.example", "type": "work", "primary": True}],
        "roles": [{"value": r} for r in roles],
        ENT: {"employeeNumber": number, "department": "预算处"},
    }
    body.update(extra or {})
    return User.model_validate(body)


# a user with a first password, the enterprise extension and a role
zhou = scim.create(user("Zhou.Min", "周", "敏", "7001", ["clerk"], {"password": password}))
zd = dump(zhou)
check(zd["userName"] == "zhou.min", f"userName kept in lower case: {zd}")
check("password" not in zd, "the password is never returned")
check(zd[ENT]["employeeNumber"] == "7001", f"enterprise extension: {zd}")
check(zd["meta"]["version"].startswith('W/"'), "an ETag")
out["zhou"] = zhou.id
out["zhou_version"] = zd["meta"]["version"]

qian = scim.create(user("qian.li", "钱", "丽", "7002", ["approver"]))
sun = scim.create(user("sun.wei", "孙", "伟", "7003", []))
out["qian"] = qian.id

# a filter, a sort, a page
found = scim.query(User, query_parameters=SearchRequest(filter='userName sw "zhou"'))
check(found.total_results == 1 and found.resources[0].id == zhou.id, f"filter: {found}")
ent_filter = SearchRequest(filter=f'{ENT}:employeeNumber eq "7002"')
found = scim.query(User, query_parameters=ent_filter)
check(found.total_results == 1 and found.resources[0].id == qian.id, "a filter on the extension")
page = scim.query(User, query_parameters=SearchRequest(sort_by="userName", start_index=2, count=1))
check(page.total_results == 3 and page.resources[0].user_name == "sun.wei", f"page: {page}")
searched = scim.search(User, SearchRequest(filter='emails[type eq "work" and value co "qian"]'))
check(any(r.id == qian.id for r in searched.resources), f"POST .search: {searched}")
out["total"] = scim.query(User).total_results

# PATCH: a new title and department
patch = PatchOp[User].model_validate({
    "Operations": [
        {"op": "replace", "path": "title", "value": "科员"},
        {"op": "replace", "path": f"{ENT}:department", "value": "国库处"},
    ]
})
patched = scim.modify(User, zhou.id, patch)
pd = dump(patched)
check(pd["title"] == "科员" and pd[ENT]["department"] == "国库处", f"patched: {pd}")
check(pd["meta"]["version"] != out["zhou_version"], "a new version")

# PUT of an object read earlier: its stale version is refused (412)
stale = scim.query(User, zhou.id)
scim.modify(User, zhou.id, PatchOp[User].model_validate(
    {"Operations": [{"op": "replace", "path": "nickName", "value": "敏敏"}]}
))
refused = scim.replace(stale, raise_scim_errors=False, expected_status_codes=None)
check(isinstance(refused, Error) and refused.status == 412, f"stale If-Match: {refused}")
fresh = scim.query(User, zhou.id)
fresh.display_name = "周敏"
replaced = scim.replace(fresh)
check(replaced.display_name == "周敏", "PUT with the current version")

# a group (a department) with members; its members' roles come from their own
finance = scim.create(Group.model_validate({
    "schemas": [GROUP],
    "displayName": "预算处",
    "members": [{"value": zhou.id, "type": "User"}, {"value": qian.id, "type": "User"}],
}))
fd = dump(finance)
check(sorted(m["value"] for m in fd["members"]) == sorted([zhou.id, qian.id]), f"members: {fd}")
out["group"] = finance.id
seen = scim.query(User, zhou.id)
check(seen.groups and seen.groups[0].value == finance.id, "the user's groups")

# a member removed by PATCH with a value filter
removal = PatchOp[Group].model_validate(
    {"Operations": [{"op": "remove", "path": f'members[value eq "{qian.id}"]'}]}
)
after = scim.modify(Group, finance.id, removal)
check([m.value for m in after.members] == [zhou.id], f"removed: {dump(after)}")

# bulk: a user and a group naming it by bulkId, and a refusal beside them
bulk = BulkRequest[User | Group].model_validate({
    "Operations": [
        {"method": "POST", "bulkId": "u1", "path": "/Users",
         "data": {"schemas": [CORE], "userName": "wu.fang"}},
        {"method": "POST", "bulkId": "g1", "path": "/Groups",
         "data": {"schemas": [GROUP], "displayName": "国库处",
                  "members": [{"value": "bulkId:u1", "type": "User"}]}},
        {"method": "POST", "bulkId": "u2", "path": "/Users",
         "data": {"schemas": [CORE], "userName": "zhou.min"}},
    ]
})
done = scim.bulk(bulk)
statuses = [op.status for op in done.operations]
check(statuses[:2] == [201, 201] and statuses[2] == 409, f"bulk: {statuses}")
wu_group = done.operations[1].location.rsplit("/", 1)[1]
members = scim.query(Group, wu_group).members
check(members and members[0].display == "wu.fang", "a bulkId resolved")
out["bulk"] = statuses

# deletion
scim.delete(User, sun.id)
gone = scim.query(User, sun.id, raise_scim_errors=False, expected_status_codes=None)
check(isinstance(gone, Error) and gone.status == 404, f"deleted: {gone}")

print(json.dumps(out))
