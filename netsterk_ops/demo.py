"""The demo network "Mechelen": the seed partners of DESIGN.md with invented contact data."""
from __future__ import annotations

NETWORK = {
    "code": "mechelen",
    "name": "Mechelen",
    "categories": ["truancy", "motivation", "home_situation", "wellbeing", "learning", "leisure"],
}

MECHELEN_POSTCODES = ["2800", "2801", "2811", "2812"]


def _offer(org_id, slug, name, categories, *, languages=("nl",), min_age=6, max_age=25,
           levels=("primary", "secondary", "special_needs"), capacity=5, postcodes=None):
    return {"id": f"{org_id}-{slug}", "name": name, "categories": list(categories),
            "postcodes": list(postcodes or MECHELEN_POSTCODES), "languages": list(languages),
            "min_age": min_age, "max_age": max_age, "school_levels": list(levels),
            "capacity": capacity}


ORGANISATIONS = [
    {"id": "arktos", "name": "Arktos", "kind": "partner", "email": "naft@arktos.example.org",
     "offers": [_offer("arktos", "naft-traject", "NAFT-traject op maat", ["truancy", "motivation"],
                       languages=("nl", "fr", "ar"), min_age=12, levels=("secondary", "special_needs"))]},
    {"id": "profo", "name": "Profo", "kind": "partner", "email": "naft@profo.example.org",
     "offers": [_offer("profo", "naft-time-out", "NAFT time-out", ["truancy", "motivation", "wellbeing"],
                       languages=("nl", "en"), min_age=12, max_age=18, levels=("secondary",))]},
    {"id": "pros", "name": "PrOS", "kind": "partner", "email": "naft@pros.example.org",
     "offers": [_offer("pros", "naft-begeleiding", "NAFT-begeleiding aan huis",
                       ["truancy", "home_situation"], languages=("nl", "tr"), min_age=12,
                       levels=("secondary", "special_needs"))]},
    {"id": "jam", "name": "J@M", "kind": "partner", "email": "contact@jam.example.org",
     "offers": [_offer("jam", "jeugdwerk", "Jeugdwerk en vrije tijd", ["leisure", "motivation"],
                       languages=("nl", "fr", "ar", "en"), min_age=10)]},
    {"id": "samenlevingsopbouw", "name": "Samenlevingsopbouw", "kind": "partner",
     "email": "mechelen@samenlevingsopbouw.example.org",
     "offers": [_offer("samenlevingsopbouw", "gezinsondersteuning", "Outreachend huisbezoek en gezinsondersteuning",
                       ["home_situation", "wellbeing"], languages=("nl", "fr", "ar", "tr", "en"))]},
    {"id": "clb-mechelen", "name": "CLB Mechelen", "kind": "clb", "email": "onthaal@clb-mechelen.example.org",
     "offers": [_offer("clb-mechelen", "leerlingbegeleiding", "Psychosociale leerlingbegeleiding",
                       ["wellbeing", "learning"], languages=("nl", "fr"))]},
    {"id": "huiswerkklas", "name": "Huiswerkklas De Brug", "kind": "partner",
     "email": "huiswerk@debrug.example.org",
     "offers": [_offer("huiswerkklas", "huiswerkbegeleiding", "Huiswerkbegeleiding", ["learning"],
                       languages=("nl", "ar", "en"), max_age=18, levels=("primary", "secondary"))]},
    {"id": "atheneum-mechelen", "name": "GO! Atheneum Mechelen (school)", "kind": "school",
     "email": "leerlingbegeleiding@atheneum.example.org", "offers": []},
    {"id": "regenboog", "name": "Basisschool De Regenboog (school)", "kind": "school",
     "email": "zorg@regenboog.example.org", "offers": []},
]

USERS = [
    {"username": "coordinator", "password": "netsterk-demo", "role": "coordinator", "network": "mechelen"},
    {"username": "admin", "password": "netsterk-demo", "role": "network_admin", "network": "mechelen"},
    {"username": "analyst", "password": "netsterk-demo", "role": "analyst", "network": "mechelen"},
    {"username": "arktos", "password": "netsterk-demo", "role": "partner_staff", "network": "mechelen",
     "organisation_id": "arktos"},
]


def seed(call) -> dict:
    """Seed through the services' own RPC (each owns its data). `call(service, method, *args, **kw)`.
    Idempotent: every call is an upsert."""
    call("intake", "upsert_network", NETWORK["code"], NETWORK["name"], NETWORK["categories"])
    directory = call("matching", "import_directory", NETWORK["code"], ORGANISATIONS)
    for user in USERS:
        call("portal", "upsert_user", **user)
    return {"network": NETWORK["code"], "directory": directory, "users": len(USERS)}
