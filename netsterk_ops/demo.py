"""The demo network "Mechelen": the seed partners of DESIGN.md with realistic, invented offers,
staff and contact data, plus generated extra offers to test the ranking at scale."""
from __future__ import annotations

import random

NETWORK = {
    "code": "mechelen",
    "name": "Mechelen",
    "categories": ["truancy", "motivation", "home_situation", "wellbeing", "learning", "leisure"],
}

MECHELEN_POSTCODES = ["2800", "2801", "2811", "2812"]
NEIGHBOURHOODS = ["Binnenstad", "Mechelen-Noord", "Nekkerspoel", "Ragheno", "Arsenaal", "Hombeek",
                  "Leest", "Heffen", "Muizen", "Walem"]
LAST_CONFIRMED = "2026-10-01"
OFFICE_HOURS = [{"days": ["MO", "TU", "WE", "TH", "FR"], "opens": "09:00", "closes": "17:00"}]


def _offer(org_id, slug, name, categories, *, description="", languages=("nl",), min_age=6,
           max_age=25, levels=("primary", "secondary", "special_needs"), capacity=5, period="month",
           waiting_list=0, postcodes=None, neighbourhoods=(), hours=None, how_to_reach=""):
    return {"id": f"{org_id}-{slug}", "name": name, "description": description,
            "categories": list(categories), "postcodes": list(MECHELEN_POSTCODES if postcodes is None else postcodes),
            "neighbourhoods": list(neighbourhoods), "languages": list(languages),
            "min_age": min_age, "max_age": max_age, "school_levels": list(levels),
            "capacity": capacity, "capacity_period": period, "waiting_list": waiting_list,
            "opening_hours": list(hours or OFFICE_HOURS), "how_to_reach": how_to_reach,
            "last_confirmed": LAST_CONFIRMED}


def _staff(org_id, n, name, phone, email, languages, offers):
    return {"id": f"{org_id}-staff-{n}", "name": name, "phone": phone, "email": email,
            "languages": list(languages), "offer_ids": [f"{org_id}-{slug}" for slug in offers]}


ORGANISATIONS = [
    {"id": "arktos", "name": "Arktos", "kind": "partner", "email": "naft@arktos.example.org",
     "phone": "+32 15 00 10 10", "website": "https://arktos.example.org",
     "description": "Begeleiding van kwetsbare jongeren op en naast de schoolbank.",
     "how_to_reach": "Mail of bel de NAFT-coördinator; antwoord binnen twee werkdagen.",
     "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("arktos", "naft-traject", "NAFT-traject op maat", ["truancy", "motivation"],
                description="Individuele begeleiding van spijbelende jongeren, op school en thuis, tot 12 weken.",
                languages=("nl", "fr"), min_age=12, levels=("secondary", "special_needs"), capacity=4,
                waiting_list=2, how_to_reach="Aanmelden via het meldpunt; intake op school."),
         _offer("arktos", "time-out", "Time-out op verplaatsing", ["motivation", "wellbeing"],
                description="Korte time-out (4 tot 6 weken) buiten de school met groepswerk en stage.",
                min_age=12, max_age=18, levels=("secondary",), capacity=6, period="quarter"),
     ],
     "staff": [_staff("arktos", 1, "Sofie Verbeeck", "+32 470 11 22 33", "sofie.verbeeck@arktos.example.org",
                      ("nl", "fr"), ["naft-traject"]),
               _staff("arktos", 2, "Youssef Amrani", "+32 470 44 55 66", "youssef.amrani@arktos.example.org",
                      ("nl", "ar", "ber"), ["naft-traject", "time-out"])]},
    {"id": "profo", "name": "Profo", "kind": "partner", "email": "naft@profo.example.org",
     "phone": "+32 15 00 20 20", "description": "Vorming en begeleiding voor jongeren die vastlopen op school.",
     "how_to_reach": "Telefonisch op werkdagen van 9 tot 12 uur.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("profo", "naft-time-out", "NAFT time-out", ["truancy", "motivation", "wellbeing"],
                description="Groepstraject van 6 weken met individuele gesprekken en terugkeer naar school.",
                languages=("nl", "en"), min_age=12, max_age=18, levels=("secondary",), capacity=5),
         _offer("profo", "schoolbrug", "Schoolbrugproject", ["truancy", "learning"],
                description="Wekelijkse begeleiding rond planning, leren leren en aanwezigheid.",
                min_age=12, max_age=16, levels=("secondary",), capacity=3, postcodes=["2800"],
                neighbourhoods=["Binnenstad", "Mechelen-Noord"]),
     ],
     "staff": [_staff("profo", 1, "Hanne Peeters", "+32 471 10 20 30", "hanne.peeters@profo.example.org",
                      ("nl", "en"), ["naft-time-out", "schoolbrug"])]},
    {"id": "pros", "name": "PrOS", "kind": "partner", "email": "naft@pros.example.org",
     "phone": "+32 15 00 30 30", "description": "Preventie en ondersteuning van schoolloopbanen.",
     "how_to_reach": "Mail met de referentie van het meldpunt.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("pros", "naft-begeleiding", "NAFT-begeleiding aan huis", ["truancy", "home_situation"],
                description="Huisbezoeken en gesprekken met jongere en ouders, samen met de school.",
                languages=("nl", "tr"), min_age=12, levels=("secondary", "special_needs"), capacity=4),
     ],
     "staff": [_staff("pros", 1, "Emre Yilmaz", "+32 472 30 30 30", "emre.yilmaz@pros.example.org",
                      ("nl", "tr"), ["naft-begeleiding"])]},
    {"id": "jam", "name": "J@M", "kind": "partner", "email": "contact@jam.example.org",
     "phone": "+32 15 00 40 40", "description": "Jeugdwerk in de wijken: vrije tijd, talent en een luisterend oor.",
     "how_to_reach": "Langs in het jeugdhuis of via Instagram en telefoon.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("jam", "jeugdwerk", "Jeugdwerk en vrije tijd", ["leisure", "motivation"],
                description="Open werking, sport en muziek in de wijk, drempelverlagend.",
                languages=("nl", "fr", "ar", "en"), min_age=10, capacity=12,
                neighbourhoods=["Mechelen-Noord", "Nekkerspoel", "Ragheno"],
                hours=[{"days": ["WE"], "opens": "13:00", "closes": "18:00"},
                       {"days": ["FR"], "opens": "16:00", "closes": "21:00"},
                       {"days": ["SA"], "opens": "13:00", "closes": "18:00"}]),
         _offer("jam", "meidenwerking", "Meidenwerking", ["wellbeing", "leisure"],
                description="Wekelijkse groep voor meisjes van 12 tot 18.", languages=("nl", "ar"),
                min_age=12, max_age=18, levels=("secondary", "special_needs", "none"), capacity=8,
                hours=[{"days": ["TH"], "opens": "16:00", "closes": "19:00"}]),
     ],
     "staff": [_staff("jam", 1, "Nadia Boukhari", "+32 473 40 40 40", "nadia@jam.example.org",
                      ("nl", "ar", "fr"), ["jeugdwerk", "meidenwerking"])]},
    {"id": "samenlevingsopbouw", "name": "Samenlevingsopbouw", "kind": "partner",
     "email": "mechelen@samenlevingsopbouw.example.org", "phone": "+32 15 00 50 50",
     "description": "Werkt met gezinnen in armoede aan rechten en verbinding.",
     "how_to_reach": "Via het meldpunt; een brugfiguur neemt contact op.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("samenlevingsopbouw", "gezinsondersteuning", "Outreachend huisbezoek en gezinsondersteuning",
                ["home_situation", "wellbeing"], description="Huisbezoeken, hulp bij administratie en schoolkosten.",
                languages=("nl", "fr", "ar", "tr", "en"), capacity=6, waiting_list=3),
         _offer("samenlevingsopbouw", "brugfiguur", "Brugfiguur school en gezin", ["truancy", "home_situation"],
                description="Een vertrouwd gezicht tussen school en gezin in de basisschool.",
                languages=("nl", "ar", "ro"), min_age=6, max_age=12, levels=("primary",), capacity=5,
                neighbourhoods=["Mechelen-Noord", "Nekkerspoel"]),
     ],
     "staff": [_staff("samenlevingsopbouw", 1, "Ioana Popescu", "+32 474 50 50 50",
                      "ioana.popescu@samenlevingsopbouw.example.org", ("nl", "ro", "fr"), ["brugfiguur"]),
               _staff("samenlevingsopbouw", 2, "Tom Janssens", "+32 474 60 60 60",
                      "tom.janssens@samenlevingsopbouw.example.org", ("nl", "en"), ["gezinsondersteuning"])]},
    {"id": "jeugdhuis-borre", "name": "Jeugdhuis De Borre", "kind": "partner",
     "email": "info@jeugdhuisdeborre.example.org", "phone": "+32 15 00 60 60",
     "description": "Jeugdhuis met open werking en vrijwilligers.", "how_to_reach": "Kom langs tijdens de open werking.",
     "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("jeugdhuis-borre", "open-werking", "Open werking jeugdhuis", ["leisure"],
                languages=("nl", "en"), min_age=14, max_age=25, levels=("secondary", "higher", "none"),
                capacity=20, postcodes=["2800", "2812"],
                hours=[{"days": ["WE", "FR", "SA"], "opens": "14:00", "closes": "22:00"}]),
     ], "staff": []},
    {"id": "clb-mechelen", "name": "CLB Mechelen", "kind": "clb", "email": "onthaal@clb-mechelen.example.org",
     "phone": "+32 15 00 70 70", "description": "Centrum voor leerlingenbegeleiding.",
     "how_to_reach": "Via de contactpersoon van de school of het onthaal.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("clb-mechelen", "leerlingbegeleiding", "Psychosociale leerlingbegeleiding",
                ["wellbeing", "learning"], languages=("nl", "fr"), capacity=10),
         _offer("clb-mechelen", "spijbelbegeleiding", "Begeleiding bij problematische afwezigheden",
                ["truancy"], description="Verplichte begeleiding vanaf 5 halve dagen afwezigheid.",
                capacity=10, period="week"),
     ],
     "staff": [_staff("clb-mechelen", 1, "Marie Claes", "+32 475 70 70 70", "marie.claes@clb-mechelen.example.org",
                      ("nl", "fr"), ["leerlingbegeleiding", "spijbelbegeleiding"])]},
    {"id": "huiswerkklas", "name": "Huiswerkklas De Brug", "kind": "partner",
     "email": "huiswerk@debrug.example.org", "phone": "+32 15 00 80 80",
     "description": "Huiswerkbegeleiding door vrijwilligers en studenten.",
     "how_to_reach": "Mail; start na een kennismaking met ouders.", "last_confirmed": LAST_CONFIRMED,
     "offers": [
         _offer("huiswerkklas", "huiswerkbegeleiding", "Huiswerkbegeleiding", ["learning"],
                languages=("nl", "ar", "en"), max_age=18, levels=("primary", "secondary"), capacity=15,
                neighbourhoods=["Mechelen-Noord", "Arsenaal"],
                hours=[{"days": ["MO", "TU", "TH"], "opens": "15:30", "closes": "18:00"}]),
     ],
     "staff": [_staff("huiswerkklas", 1, "Pieter De Smet", None, "pieter@debrug.example.org",
                      ("nl", "en"), ["huiswerkbegeleiding"])]},
    {"id": "atheneum-mechelen", "name": "GO! Atheneum Mechelen (school)", "kind": "school",
     "email": "leerlingbegeleiding@atheneum.example.org", "offers": []},
    {"id": "regenboog", "name": "Basisschool De Regenboog (school)", "kind": "school",
     "email": "zorg@regenboog.example.org", "offers": []},
]

# the demo accounts' second factor (TOTP, RFC 6238): add this key to an authenticator app, or
# `netsterk totp` / `python -c "from services.portal.auth import totp; print(totp(KEY))"`.
# A demo value, documented in the README: never use it beyond a local demo.
DEMO_TOTP_SECRET = "NETSTERKDEMO2FAKEYFORMAKERUNAAAA"

USERS = [
    {"username": "coordinator", "password": "netsterk-demo", "role": "coordinator", "network": "mechelen",
     "totp_secret": DEMO_TOTP_SECRET},
    {"username": "admin", "password": "netsterk-demo", "role": "network_admin", "network": "mechelen",
     "totp_secret": DEMO_TOTP_SECRET},
    {"username": "analyst", "password": "netsterk-demo", "role": "analyst", "network": "mechelen"},
    {"username": "arktos", "password": "netsterk-demo", "role": "partner_staff", "network": "mechelen",
     "organisation_id": "arktos", "totp_secret": DEMO_TOTP_SECRET},
    {"username": "profo", "password": "netsterk-demo", "role": "partner_staff", "network": "mechelen",
     "organisation_id": "profo", "totp_secret": DEMO_TOTP_SECRET},
    {"username": "ops", "password": "netsterk-demo", "role": "ops", "network": "mechelen",
     "totp_secret": DEMO_TOTP_SECRET},
]

OFFER_KINDS = [
    ("Huiswerkbegeleiding", ["learning"]), ("Spijbelbegeleiding", ["truancy"]),
    ("Gezinscoaching", ["home_situation", "wellbeing"]), ("Sport en spel", ["leisure", "motivation"]),
    ("Faalangsttraining", ["wellbeing", "learning"]), ("Leerwerktraject", ["motivation", "truancy"]),
    ("Buddywerking", ["wellbeing", "motivation"]), ("Taalcoaching", ["learning"]),
]
LANGUAGES = ["nl", "fr", "en", "ar", "tr", "ro", "pl", "bg", "so", "uk"]
LEVELS = ["primary", "secondary", "special_needs", "none"]


def extra_organisations(count: int, *, seed: int = 5, offers_per_organisation: int = 5,
                        postcodes=None) -> list[dict]:
    """`count` generated offers (deterministic) in organisations of `offers_per_organisation`."""
    rng = random.Random(seed)
    postcodes = postcodes or MECHELEN_POSTCODES
    organisations = []
    for number in range(-(-count // offers_per_organisation)):
        org_id = f"gen-{number:05d}"
        offers = []
        for k in range(min(offers_per_organisation, count - number * offers_per_organisation)):
            name, categories = rng.choice(OFFER_KINDS)
            low = rng.choice([6, 6, 10, 12, 12, 14])
            offers.append(_offer(
                org_id, f"o{k}", f"{name} {number}-{k}", categories,
                languages=["nl"] + rng.sample(LANGUAGES[1:], rng.randint(0, 2)),
                min_age=low, max_age=rng.choice([12, 16, 18, 25]) if low < 12 else rng.choice([18, 25]),
                levels=rng.sample(LEVELS, rng.randint(1, 3)), capacity=rng.randint(0, 10),
                waiting_list=rng.choice([0, 0, 0, 1, 3]),
                postcodes=rng.sample(postcodes, rng.randint(1, len(postcodes))),
                neighbourhoods=rng.sample(NEIGHBOURHOODS, rng.randint(0, 2))))
        organisations.append({"id": org_id, "name": f"Gegenereerde partner {number:05d}", "kind": "partner",
                              "email": f"{org_id}@partners.example.org", "offers": offers})
    return organisations


def seed(call, *, extra: int = 0, batch: int = 250) -> dict:
    """Seed through the services' own RPC (each owns its data). `call(service, method, *args, **kw)`.
    Idempotent: every call is an upsert. `extra` generated offers are imported in batches."""
    call("intake", "upsert_network", NETWORK["code"], NETWORK["name"], NETWORK["categories"])
    directory = call("matching", "import_directory", NETWORK["code"], ORGANISATIONS)
    generated = extra_organisations(extra) if extra else []
    per_batch = max(1, batch // 5)
    for start in range(0, len(generated), per_batch):
        result = call("matching", "import_directory", NETWORK["code"], generated[start:start + per_batch])
        directory = {"organisations": directory["organisations"] + result["organisations"],
                     "offers": directory["offers"] + result["offers"]}
    for user in USERS:
        call("portal", "upsert_user", **user)
    return {"network": NETWORK["code"], "directory": directory, "users": len(USERS)}
