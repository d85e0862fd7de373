"""Every user-facing string, Dutch ("nl") and English ("en"). One section per area."""

CATALOGUE: dict[str, dict[str, str]] = {
    # --- common ---
    "app.name": {"nl": "Netsterk meldpunt", "en": "Netsterk contact point"},
    "field.required": {"nl": "Dit veld is verplicht.", "en": "This field is required."},
    "field.too_long": {"nl": "Maximaal {max} tekens.", "en": "At most {max} characters."},
    "field.invalid_email": {"nl": "Geen geldig e-mailadres.", "en": "Not a valid e-mail address."},
    "field.invalid_choice": {"nl": "Kies een van: {choices}.", "en": "Choose one of: {choices}."},
    "field.invalid_number": {"nl": "Geef een geheel getal tussen {min} en {max}.",
                             "en": "Give a whole number between {min} and {max}."},
    "field.invalid_postcode": {"nl": "Een Belgische postcode heeft 4 cijfers.",
                               "en": "A Belgian postcode has 4 digits."},

    # --- states (DESIGN §4) ---
    "state.draft": {"nl": "Concept", "en": "Draft"},
    "state.awaiting_school_efforts": {"nl": "Wacht op inspanningen school", "en": "Awaiting school efforts"},
    "state.triage": {"nl": "Triage", "en": "Triage"},
    "state.matching": {"nl": "Partner zoeken", "en": "Matching"},
    "state.awaiting_partner": {"nl": "Wacht op partner", "en": "Awaiting partner"},
    "state.in_progress": {"nl": "Lopend", "en": "In progress"},
    "state.closed": {"nl": "Afgesloten", "en": "Closed"},
    "state.redirected": {"nl": "Doorverwezen", "en": "Redirected"},
    "state.rejected": {"nl": "Niet aanvaard", "en": "Rejected"},
    "state.withdrawn": {"nl": "Ingetrokken", "en": "Withdrawn"},
    "state.merged": {"nl": "Samengevoegd", "en": "Merged"},

    # --- concern categories ---
    "category.truancy": {"nl": "Spijbelen", "en": "Truancy"},
    "category.motivation": {"nl": "Motivatie", "en": "Motivation"},
    "category.home_situation": {"nl": "Thuissituatie", "en": "Home situation"},
    "category.wellbeing": {"nl": "Welbevinden", "en": "Wellbeing"},
    "category.learning": {"nl": "Leren", "en": "Learning"},
    "category.leisure": {"nl": "Vrije tijd", "en": "Leisure"},

    # --- intake ---
    # --- matching ---
    # --- notifications ---
    # --- reporting ---
    # --- portal ---
}
