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
    "intake.body_not_object": {"nl": "Verwacht een JSON-object.", "en": "Expected a JSON object."},
    "intake.unknown_field": {"nl": "Onbekend veld.", "en": "Unknown field."},
    "intake.too_many_items": {"nl": "Maximaal {max} keuzes van elk 64 tekens.",
                              "en": "At most {max} choices of 64 characters each."},
    "intake.invalid_date": {"nl": "Geef een datum als JJJJ-MM-DD.", "en": "Give a date as YYYY-MM-DD."},
    "intake.age_or_birth_date": {"nl": "Geef een geboortedatum of een leeftijd.",
                                 "en": "Give a birth date or an age."},
    "intake.unknown_network": {"nl": "Onbekend netwerk.", "en": "Unknown network."},
    "intake.categories_required": {"nl": "Kies minstens een zorg.", "en": "Choose at least one concern."},
    "intake.school_efforts_required": {
        "nl": "Beschrijf wat de school zelf al ondernam (wat, wanneer, met welk resultaat).",
        "en": "Describe what the school already tried (what, when, with what result)."},
    "intake.consent_reason_required": {
        "nl": "Geef de reden waarom er geen toestemming is.", "en": "Give the reason why there is no consent."},
    "intake.request_too_large": {"nl": "De aanvraag is te groot.", "en": "The request is too large."},
    "intake.invalid_json": {"nl": "Ongeldige JSON.", "en": "Invalid JSON."},
    "intake.form_title": {"nl": "Een zorg melden", "en": "Report a concern"},
    "intake.form_intro": {
        "nl": "Meld een zorg over een kind of jongere (6-25) die dreigt vroegtijdig de school te verlaten.",
        "en": "Report a concern about a child or young person (6-25) at risk of leaving school early."},
    "intake.section_reporter": {"nl": "Melder", "en": "Reporter"},
    "intake.section_young_person": {"nl": "Jongere", "en": "Young person"},
    "intake.section_concern": {"nl": "Zorg", "en": "Concern"},
    "intake.field.network": {"nl": "Netwerk", "en": "Network"},
    "intake.field.reporter_name": {"nl": "Naam", "en": "Name"},
    "intake.field.reporter_organisation": {"nl": "Organisatie of school", "en": "Organisation or school"},
    "intake.field.reporter_role": {"nl": "Functie", "en": "Role"},
    "intake.field.reporter_email": {"nl": "E-mail", "en": "E-mail"},
    "intake.field.reporter_phone": {"nl": "Telefoon", "en": "Phone"},
    "intake.field.reporter_is_school": {"nl": "Ik meld namens de school", "en": "I report on behalf of the school"},
    "intake.field.school_email": {"nl": "E-mail van de school (als u niet de school bent)",
                                  "en": "School e-mail (if you are not the school)"},
    "intake.field.first_name": {"nl": "Voornaam", "en": "First name"},
    "intake.field.last_name": {"nl": "Achternaam", "en": "Last name"},
    "intake.field.birth_date": {"nl": "Geboortedatum", "en": "Birth date"},
    "intake.field.age": {"nl": "of leeftijd", "en": "or age"},
    "intake.field.school": {"nl": "School", "en": "School"},
    "intake.field.school_level": {"nl": "Onderwijsniveau", "en": "School level"},
    "intake.field.postcode": {"nl": "Postcode", "en": "Postcode"},
    "intake.field.languages": {"nl": "Talen thuis (komma's)", "en": "Languages at home (commas)"},
    "intake.field.categories": {"nl": "Zorgen", "en": "Concerns"},
    "intake.field.description": {"nl": "Beschrijving van de zorg", "en": "Description of the concern"},
    "intake.field.school_efforts": {"nl": "Wat probeerde de school al?", "en": "What did the school already try?"},
    "intake.field.school_efforts_when": {"nl": "Wanneer (data)?", "en": "When (dates)?"},
    "intake.field.school_efforts_result": {"nl": "Met welk resultaat?", "en": "With what result?"},
    "intake.section_school_efforts": {"nl": "Inspanningen van de school", "en": "The school's own efforts"},
    "intake.school_efforts_hint": {
        "nl": "Verplicht als u namens de school meldt: wat werd geprobeerd, wanneer en met welk resultaat.",
        "en": "Required when you report for the school: what was tried, when and with what result."},
    "intake.section_consent": {"nl": "Toestemming", "en": "Consent"},
    "intake.field.consent": {"nl": "Toestemming", "en": "Consent"},
    "intake.field.consent_reason": {"nl": "Reden als er geen toestemming is", "en": "Reason if there is no consent"},
    "consent.parents": {"nl": "De ouders gaven toestemming", "en": "The parents consented"},
    "consent.young_person": {"nl": "De jongere gaf toestemming", "en": "The young person consented"},
    "consent.both": {"nl": "Ouders en jongere gaven toestemming", "en": "Parents and young person consented"},
    "consent.none": {"nl": "Geen toestemming", "en": "No consent"},
    "intake.field.expectations": {"nl": "Wat verwacht u van het meldpunt?", "en": "What do you expect from the contact point?"},
    "intake.field.grade": {"nl": "Klas / leerjaar", "en": "Class / grade"},
    "intake.field.neighbourhood": {"nl": "Wijk", "en": "Neighbourhood"},
    "intake.save_draft": {"nl": "Bewaren als concept", "en": "Save as draft"},
    "intake.draft_saved_title": {"nl": "Concept bewaard", "en": "Draft saved"},
    "intake.draft_saved_body": {
        "nl": "Uw melding is nog niet verstuurd. Ga verder via deze link (geldig tot {date}); bewaar ze goed.",
        "en": "Your referral has not been sent yet. Continue through this link (valid until {date}); keep it safe."},
    "intake.draft_not_found": {"nl": "Dit concept bestaat niet (meer).", "en": "This draft does not exist (any more)."},
    "intake.next_title": {"nl": "Wat gebeurt er nu?", "en": "What happens next?"},
    "intake.next_step_1": {"nl": "U krijgt een ontvangstbevestiging per e-mail.", "en": "You receive an acknowledgement by e-mail."},
    "intake.next_step_2": {"nl": "Een coördinator bekijkt de melding en zoekt de partner met de juiste expertise.",
                           "en": "A coordinator reviews the referral and looks for the partner with the right expertise."},
    "intake.next_step_3": {"nl": "De partner neemt contact op; u krijgt terugkoppeling tot de melding is afgesloten.",
                           "en": "The partner gets in touch; you hear back until the referral is closed."},
    "intake.field.urgency": {"nl": "Dringend", "en": "Urgent"},
    "intake.submit": {"nl": "Melding versturen", "en": "Submit referral"},
    "intake.errors_title": {"nl": "Controleer de gemarkeerde velden.", "en": "Please check the marked fields."},
    "intake.submitted_title": {"nl": "Melding ontvangen", "en": "Referral received"},
    "intake.submitted_body": {
        "nl": "Uw melding heeft referentie {ref}. Het meldpunt bekijkt ze binnen een werkdag; u krijgt bericht per e-mail.",
        "en": "Your referral has reference {ref}. The contact point reviews it within one working day; you will hear by e-mail."},
    "level.primary": {"nl": "Basisonderwijs", "en": "Primary"},
    "level.secondary": {"nl": "Secundair onderwijs", "en": "Secondary"},
    "level.special_needs": {"nl": "Buitengewoon onderwijs", "en": "Special needs"},
    "level.higher": {"nl": "Hoger onderwijs", "en": "Higher education"},
    "level.none": {"nl": "Niet schoolgaand", "en": "Not in school"},
    # --- matching ---
    "matching.criterion.categories": {"nl": "zorgthema's {shared} ({count}/{wanted})",
                                      "en": "concerns {shared} ({count}/{wanted})"},
    "matching.criterion.service_area": {"nl": "werkingsgebied", "en": "service area"},
    "matching.criterion.age": {"nl": "leeftijd", "en": "age"},
    "matching.criterion.school_level": {"nl": "onderwijsniveau", "en": "school level"},
    "matching.criterion.languages": {"nl": "taal", "en": "language"},
    "matching.criterion.capacity": {"nl": "vrije plaatsen", "en": "free places"},
    "matching.explanation": {"nl": "Past op {matched}; niet op {unmatched}.",
                             "en": "Matches {matched}; not {unmatched}."},
    "matching.explanation.all": {"nl": "Past op alle criteria: {matched}.",
                                 "en": "Matches every criterion: {matched}."},
    "matching.criterion.load": {"nl": "belasting", "en": "current load"},
    "matching.criterion.concerns": {"nl": "zorgthema's", "en": "concerns"},
    "matching.period.week": {"nl": "week", "en": "week"},
    "matching.period.month": {"nl": "maand", "en": "month"},
    "matching.period.quarter": {"nl": "kwartaal", "en": "quarter"},
    "matching.reason.categories": {"nl": "biedt {shared} ({count}/{wanted} zorgen)",
                                   "en": "offers {shared} ({count}/{wanted} concerns)"},
    "matching.reason.service_area.postcode": {"nl": "werkt in postcode {postcode}",
                                              "en": "works in postcode {postcode}"},
    "matching.reason.service_area.neighbourhood": {"nl": "werkt in de wijk {neighbourhood}",
                                                   "en": "works in the neighbourhood {neighbourhood}"},
    "matching.reason.service_area.everywhere": {"nl": "werkt in het hele netwerk",
                                                "en": "works in the whole network"},
    "matching.reason.service_area.no": {"nl": "werkt niet in {place}", "en": "does not work in {place}"},
    "matching.reason.age.ok": {"nl": "leeftijd {age} valt binnen {min}-{max} jaar",
                               "en": "age {age} is within {min}-{max} years"},
    "matching.reason.age.no": {"nl": "leeftijd {age} valt buiten {min}-{max} jaar",
                               "en": "age {age} is outside {min}-{max} years"},
    "matching.reason.school_level.ok": {"nl": "werkt met {level}", "en": "works with {level}"},
    "matching.reason.school_level.no": {"nl": "werkt niet met {level}", "en": "does not work with {level}"},
    "matching.reason.languages.ok": {"nl": "spreekt {languages}", "en": "speaks {languages}"},
    "matching.reason.languages.staff": {"nl": "een medewerker spreekt {languages}",
                                        "en": "a staff member speaks {languages}"},
    "matching.reason.languages.no": {"nl": "spreekt geen {languages}", "en": "does not speak {languages}"},
    "matching.reason.capacity.ok": {"nl": "{free} van {capacity} plaatsen vrij deze {period}",
                                    "en": "{free} of {capacity} places free this {period}"},
    "matching.reason.capacity.no": {"nl": "geen vrije plaats deze {period}",
                                    "en": "no free place this {period}"},
    "matching.reason.capacity.waiting": {"nl": "geen vrije plaats deze {period}, wachtlijst van {waiting}",
                                         "en": "no free place this {period}, waiting list of {waiting}"},
    "matching.reason.load.ok": {"nl": "{load} lopende trajecten", "en": "{load} engagements running"},
    "matching.reason.load.no": {"nl": "al {load} lopende trajecten voor {capacity} per {period}",
                                "en": "already {load} engagements running for {capacity} per {period}"},
    "matching.explain.head": {"nl": "Keuze {rank}, score {score}/100.", "en": "Choice {rank}, score {score}/100."},
    "matching.explain.matched": {"nl": "Past: {items}.", "en": "Fits: {items}."},
    "matching.explain.unmatched": {"nl": "Past niet: {items}.", "en": "Does not fit: {items}."},
    "matching.explain.urgent": {"nl": "Dringend: vrije plaatsen wegen zwaarder.",
                                "en": "Urgent: free places weigh more."},
    "matching.explain.top": {"nl": "Staat bovenaan met de hoogste score.",
                             "en": "Ranks first with the highest score."},
    "matching.explain.below": {"nl": "Staat onder {other}: {points} punten minder op {criteria}.",
                               "en": "Ranks below {other}: {points} points less on {criteria}."},
    "matching.explain.tie": {"nl": "Evenveel punten als {other}, maar {why}.",
                             "en": "Same score as {other}, but {why}."},
    "matching.explain.tie.free": {"nl": "minder vrije plaatsen", "en": "fewer free places"},
    "matching.explain.tie.load": {"nl": "meer lopende trajecten", "en": "more engagements running"},
    "matching.explain.tie.name": {"nl": "alfabetisch later", "en": "later in the alphabet"},
    "language.nl": {"nl": "Nederlands", "en": "Dutch"},
    "language.fr": {"nl": "Frans", "en": "French"},
    "language.en": {"nl": "Engels", "en": "English"},
    "language.de": {"nl": "Duits", "en": "German"},
    "language.ar": {"nl": "Arabisch", "en": "Arabic"},
    "language.tr": {"nl": "Turks", "en": "Turkish"},
    "language.ber": {"nl": "Berbers", "en": "Berber"},
    "language.pl": {"nl": "Pools", "en": "Polish"},
    "language.ro": {"nl": "Roemeens", "en": "Romanian"},
    "language.bg": {"nl": "Bulgaars", "en": "Bulgarian"},
    "language.es": {"nl": "Spaans", "en": "Spanish"},
    "language.ru": {"nl": "Russisch", "en": "Russian"},
    "language.uk": {"nl": "Oekraïens", "en": "Ukrainian"},
    "language.so": {"nl": "Somali", "en": "Somali"},
    "language.ti": {"nl": "Tigrinya", "en": "Tigrinya"},
    "language.ps": {"nl": "Pasjtoe", "en": "Pashto"},
    "language.fa": {"nl": "Perzisch", "en": "Persian"},
    "matching.decline.no_capacity": {"nl": "Geen plaats", "en": "No capacity"},
    "matching.decline.outside_area": {"nl": "Buiten ons werkingsgebied", "en": "Outside our area"},
    "matching.decline.not_our_expertise": {"nl": "Niet onze expertise", "en": "Not our expertise"},
    "matching.decline.family_unreachable": {"nl": "Gezin niet bereikbaar", "en": "Could not reach the family"},
    "matching.decline.other": {"nl": "Andere reden", "en": "Other reason"},
    "matching.gap.no_offer": {"nl": "Geen aanbod voor deze zorg", "en": "No offer for this concern"},
    "matching.gap.outside_area": {"nl": "Geen aanbod in dit gebied", "en": "No offer in this area"},
    "matching.gap.age": {"nl": "Geen aanbod voor deze leeftijd", "en": "No offer for this age"},
    "matching.gap.school_level": {"nl": "Geen aanbod voor dit onderwijsniveau", "en": "No offer for this school level"},
    "matching.gap.languages": {"nl": "Geen aanbod in deze taal", "en": "No offer in this language"},
    "matching.gap.no_capacity": {"nl": "Aanbod zit vol", "en": "Offers are full"},
    "matching.gap.already_engaged": {"nl": "Enige aanbod is al betrokken bij dit gezin",
                                     "en": "The only offers are already engaged with this family"},
    "matching.gap.all_declined": {"nl": "Alle partners weigerden", "en": "Every partner declined"},
    # --- notifications ---
    # e-mail templates: subject and plain-text body; {ref} is always available
    "notifications.not_given": {"nl": "niet opgegeven", "en": "not given"},
    "notifications.partner_engagement.subject": {
        "nl": "Vraag tot inschakeling: {offer_name} [{ref}]",
        "en": "Request to engage: {offer_name} [{ref}]"},
    "notifications.partner_engagement.body": {
        "nl": "Beste partner,\n\n"
              "Het meldpunt vraagt uw organisatie om melding {ref} op te nemen met uw aanbod "
              "\"{offer_name}\".\n\n"
              "Bekijk de vraag en laat ons weten of u ze aanvaardt of weigert:\n{accept_url}\n\n"
              "Vermeld {ref} als u op deze e-mail antwoordt.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear partner,\n\n"
              "The contact point asks your organisation to take up referral {ref} with your offer "
              "\"{offer_name}\".\n\n"
              "Please review the request and let us know whether you accept or decline it:\n{accept_url}\n\n"
              "Mention {ref} when you reply to this e-mail.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.partner_reminder.subject": {
        "nl": "Herinnering: vraag tot inschakeling {offer_name} [{ref}]",
        "en": "Reminder: request to engage {offer_name} [{ref}]"},
    "notifications.partner_reminder.body": {
        "nl": "Beste partner,\n\n"
              "We wachten nog op uw antwoord op melding {ref} voor uw aanbod \"{offer_name}\".\n"
              "Aanvaard of weiger de vraag via:\n{accept_url}\n\n"
              "Zonder antwoord vraagt het meldpunt binnenkort een andere partner.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear partner,\n\n"
              "We are still waiting for your answer on referral {ref} for your offer \"{offer_name}\".\n"
              "Accept or decline the request at:\n{accept_url}\n\n"
              "Without an answer the contact point will soon ask another partner.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.reporter_received.subject": {
        "nl": "Uw melding is ontvangen [{ref}]", "en": "Your referral was received [{ref}]"},
    "notifications.reporter_received.body": {
        "nl": "Beste melder,\n\n"
              "We ontvingen uw melding met referentie {ref}. Het meldpunt bekijkt ze binnen een "
              "werkdag en houdt u op de hoogte.\n\n"
              "Vermeld {ref} als u op deze e-mail antwoordt.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear reporter,\n\n"
              "We received your referral with reference {ref}. The contact point reviews it within "
              "one working day and will keep you informed.\n\n"
              "Mention {ref} when you reply to this e-mail.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.reporter_closed.subject": {
        "nl": "Uw melding is afgesloten [{ref}]", "en": "Your referral was closed [{ref}]"},
    "notifications.reporter_closed.body": {
        "nl": "Beste melder,\n\n"
              "Melding {ref} is afgesloten.\nUitkomst: {outcome}\n\n"
              "Bedankt om de zorg te melden.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear reporter,\n\n"
              "Referral {ref} was closed.\nOutcome: {outcome}\n\n"
              "Thank you for reporting the concern.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.school_efforts_request.subject": {
        "nl": "Wat deed de school al? [{ref}]", "en": "What did the school already do? [{ref}]"},
    "notifications.school_efforts_request.body": {
        "nl": "Beste school,\n\n"
              "Voor het meldpunt een partner inschakelt voor melding {ref}, vragen we wat de school "
              "zelf al ondernam om de leerling te bereiken (telefoons, brieven, huisbezoeken, met data).\n"
              "Vul het hier aan en bevestig:\n{confirm_url}\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear school,\n\n"
              "Before the contact point engages a partner for referral {ref}, we ask what the school "
              "already did to reach the pupil (calls, letters, home visits, with dates).\n"
              "Please complete and confirm it here:\n{confirm_url}\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.coordinator_escalation.subject": {
        "nl": "Escalatie: melding wacht in status {state} [{ref}]",
        "en": "Escalation: referral waiting in state {state} [{ref}]"},
    "notifications.coordinator_escalation.body": {
        "nl": "Beste coördinator,\n\n"
              "Melding {ref} wacht te lang in de status \"{state}\".\nReden: {reason}\n\n"
              "Open het meldpunt om de melding verder te zetten.",
        "en": "Dear coordinator,\n\n"
              "Referral {ref} has been waiting too long in the state \"{state}\".\nReason: {reason}\n\n"
              "Open the contact point to move the referral on."},
    "notifications.information_request.subject": {
        "nl": "Vraag van het meldpunt over uw melding [{ref}]",
        "en": "A question from the contact point about your referral [{ref}]"},
    "notifications.information_request.body": {
        "nl": "Beste melder,\n\n"
              "Om melding {ref} verder te zetten heeft het meldpunt een vraag:\n\n{question}\n\n"
              "Antwoord via deze link:\n{answer_url}\n\n"
              "U kunt ook op deze e-mail antwoorden; laat {ref} in het onderwerp staan.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear reporter,\n\n"
              "To move referral {ref} on, the contact point has a question:\n\n{question}\n\n"
              "Please answer through this link:\n{answer_url}\n\n"
              "You can also reply to this e-mail; keep {ref} in the subject.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.closure_feedback.subject": {
        "nl": "Melding afgesloten: terugkoppeling [{ref}]",
        "en": "Referral closed: feedback [{ref}]"},
    "notifications.closure_feedback.body": {
        "nl": "Beste,\n\n"
              "Melding {ref} is afgesloten.\n"
              "Wat werd gedaan: {what_was_done}\n"
              "Is de jongere opnieuw betrokken bij school? {re_engaged}\n\n"
              "Bedankt voor de samenwerking.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Hello,\n\n"
              "Referral {ref} was closed.\n"
              "What was done: {what_was_done}\n"
              "Did the young person re-engage with school? {re_engaged}\n\n"
              "Thank you for working with us.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.re_engaged.yes": {"nl": "ja", "en": "yes"},
    "notifications.re_engaged.partly": {"nl": "gedeeltelijk", "en": "partly"},
    "notifications.re_engaged.no": {"nl": "nee", "en": "no"},
    "notifications.reporter_redirected.subject": {
        "nl": "Uw melding is doorverwezen [{ref}]", "en": "Your referral was redirected [{ref}]"},
    "notifications.reporter_redirected.body": {
        "nl": "Beste melder,\n\n"
              "Melding {ref} hoort beter bij een andere dienst: {to_service}.\nReden: {reason}\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear reporter,\n\n"
              "Referral {ref} is better served by another service: {to_service}.\nReason: {reason}\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.partner_withdrawn.subject": {
        "nl": "Vraag ingetrokken: {offer_name} [{ref}]", "en": "Request withdrawn: {offer_name} [{ref}]"},
    "notifications.partner_withdrawn.body": {
        "nl": "Beste partner,\n\n"
              "Melding {ref} werd ingetrokken; de vraag aan uw aanbod \"{offer_name}\" vervalt.\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear partner,\n\n"
              "Referral {ref} was withdrawn; the request to your offer \"{offer_name}\" lapses.\n\n"
              "Kind regards,\nNetsterk contact point"},
    "notifications.feedback_reminder.subject": {
        "nl": "Terugkoppeling gevraagd: {offer_name} [{ref}]",
        "en": "Feedback requested: {offer_name} [{ref}]"},
    "notifications.feedback_reminder.body": {
        "nl": "Beste partner,\n\n"
              "Het is tijd voor een terugkoppeling over melding {ref} (\"{offer_name}\") aan de school "
              "en het meldpunt. Geef ze hier:\n{feedback_url}\n\n"
              "Met vriendelijke groet,\nNetsterk meldpunt",
        "en": "Dear partner,\n\n"
              "It is time for feedback on referral {ref} (\"{offer_name}\") to the school and the "
              "contact point. Please give it here:\n{feedback_url}\n\n"
              "Kind regards,\nNetsterk contact point"},
    # --- reporting ---
    "reporting.network_required": {
        "nl": "Geef het netwerk op: ?network=<code>.",
        "en": "Give the network: ?network=<code>."},
    "reporting.year_invalid": {"nl": "Kies een jaar tussen 2000 en 2100.",
                               "en": "Choose a year between 2000 and 2100."},
    "reporting.no_data": {"nl": "Nog geen gegevens.", "en": "No data yet."},
    "reporting.rules": {
        "nl": "Pseudonieme cijfers. Cellen met 1 tot 4 jongeren staan als \"<5\"; cellen die "
              "verborgen zijn zodat zo'n kleine cel niet uit de totalen terug te rekenen is, "
              "staan als \"x\". Gemiddelden alleen vanaf 5 jongeren.",
        "en": "Pseudonymous figures. Cells of 1 to 4 young people show as \"<5\"; cells hidden so "
              "that such a small cell cannot be worked out from the totals show as \"x\". "
              "Averages only from 5 young people."},
    "reporting.report.title": {"nl": "Signalen en tendensen {network} {year}",
                               "en": "Signals and trends {network} {year}"},
    "reporting.page.title": {"nl": "Rapporten", "en": "Reports"},
    "reporting.page.year": {"nl": "Jaar", "en": "Year"},
    "reporting.page.show": {"nl": "Tonen", "en": "Show"},
    "reporting.page.download_report": {"nl": "Periodiek rapport (HTML)", "en": "Periodic report (HTML)"},
    "reporting.page.download_csv": {"nl": "Export CSV", "en": "Export CSV"},
    "reporting.page.download_parquet": {"nl": "Export Parquet", "en": "Export Parquet"},
    "reporting.page.unavailable": {"nl": "De rapportering is nu niet bereikbaar. Probeer later opnieuw.",
                                   "en": "Reporting cannot be reached now. Try again later."},
    "reporting.table.referrals_per_month": {"nl": "Meldingen per maand", "en": "Referrals per month"},
    "reporting.table.referrals_by_neighbourhood": {"nl": "Meldingen per wijk", "en": "Referrals per neighbourhood"},
    "reporting.table.referrals_by_category": {"nl": "Meldingen per zorg", "en": "Referrals per concern"},
    "reporting.table.referrals_by_school_level": {"nl": "Meldingen per onderwijsniveau",
                                                  "en": "Referrals per school level"},
    "reporting.table.referrals_by_age_band": {"nl": "Meldingen per leeftijdsgroep", "en": "Referrals per age band"},
    "reporting.table.referrals_by_channel": {"nl": "Meldingen per kanaal", "en": "Referrals per channel"},
    "reporting.table.referrals_by_source": {"nl": "Rechtstreekse inschakelingen naast meldingen via het meldpunt",
                                            "en": "Direct engagements next to contact-point referrals"},
    "reporting.table.referrals_by_repeat": {"nl": "Herhaalde meldingen van dezelfde jongere",
                                            "en": "Repeat referrals of the same young person"},
    "reporting.table.stages": {"nl": "Tijd per fase en termijnen", "en": "Time per stage and deadlines"},
    "reporting.table.partner_response": {"nl": "Antwoord van partners op een vraag tot inschakeling",
                                         "en": "Partners' answers to engagement requests"},
    "reporting.table.declines_by_reason": {"nl": "Weigeringen per reden", "en": "Declines by reason"},
    "reporting.table.declines_by_organisation": {"nl": "Weigeringen per partner", "en": "Declines by partner"},
    "reporting.table.gaps_by_reason": {"nl": "Hiaten in het aanbod per reden", "en": "Gaps in the offer by reason"},
    "reporting.table.gaps_by_neighbourhood": {"nl": "Hiaten per wijk", "en": "Gaps per neighbourhood"},
    "reporting.table.gaps_by_age_band": {"nl": "Hiaten per leeftijdsgroep", "en": "Gaps per age band"},
    "reporting.table.gaps_by_school_level": {"nl": "Hiaten per onderwijsniveau", "en": "Gaps per school level"},
    "reporting.table.gaps_need_where": {"nl": "Hiaten: welke nood, waar", "en": "Gaps: which need, where"},
    "reporting.table.outcomes_per_offer": {"nl": "Resultaat per aanbod", "en": "Outcomes per offer"},
    "reporting.label.all": {"nl": "Alle meldingen", "en": "All referrals"},
    "reporting.label.total": {"nl": "Totaal", "en": "Total"},
    "reporting.label.count": {"nl": "Aantal", "en": "Count"},
    "reporting.label.unknown": {"nl": "Onbekend", "en": "Unknown"},
    "reporting.label.mean_days": {"nl": "Gemiddeld (dagen)", "en": "Mean (days)"},
    "reporting.label.mean_days_late": {"nl": "Gemiddeld te laat (dagen)", "en": "Mean days late"},
    "reporting.label.on_time": {"nl": "Op tijd", "en": "On time"},
    "reporting.label.late": {"nl": "Te laat", "en": "Late"},
    "reporting.label.late_1": {"nl": "1 dag te laat", "en": "1 day late"},
    "reporting.label.late_2-5": {"nl": "2-5 dagen te laat", "en": "2-5 days late"},
    "reporting.label.late_>5": {"nl": "Meer dan 5 dagen te laat", "en": "More than 5 days late"},
    "reporting.label.no_deadline": {"nl": "Zonder termijn", "en": "No deadline"},
    "reporting.label.in_care": {"nl": "Nog in begeleiding", "en": "Still in care"},
    "reporting.label.re_engaged_yes": {"nl": "Terug op school", "en": "Re-engaged with school"},
    "reporting.label.re_engaged_partly": {"nl": "Deels terug op school", "en": "Partly re-engaged"},
    "reporting.label.re_engaged_no": {"nl": "Niet terug op school", "en": "Not re-engaged"},
    "reporting.label.stopped": {"nl": "Gestopt", "en": "Stopped"},
    "reporting.label.ended": {"nl": "Beëindigd (zonder resultaat)", "en": "Ended (no outcome given)"},
    "reporting.label.direct": {"nl": "Rechtstreeks ingeschakeld", "en": "Engaged directly"},
    "reporting.label.contact_point": {"nl": "Via het meldpunt", "en": "Through the contact point"},
    "reporting.label.first": {"nl": "Eerste melding", "en": "First referral"},
    "reporting.label.repeat": {"nl": "Herhaalde melding", "en": "Repeat referral"},
    "reporting.label.no_capacity": {"nl": "Geen plaats", "en": "No capacity"},
    "reporting.label.outside_area": {"nl": "Buiten werkingsgebied", "en": "Outside the service area"},
    "reporting.label.not_our_expertise": {"nl": "Niet onze expertise", "en": "Not our expertise"},
    "reporting.label.family_unreachable": {"nl": "Gezin niet bereikbaar", "en": "Family unreachable"},
    "reporting.label.other": {"nl": "Andere", "en": "Other"},
    "reporting.label.no_offer": {"nl": "Geen aanbod", "en": "No offer"},
    "reporting.label.age": {"nl": "Leeftijd", "en": "Age"},
    "reporting.label.school_level": {"nl": "Onderwijsniveau", "en": "School level"},
    "reporting.label.languages": {"nl": "Talen", "en": "Languages"},
    "reporting.label.already_engaged": {"nl": "Al ingeschakeld", "en": "Already engaged"},
    "reporting.label.all_declined": {"nl": "Iedereen weigerde", "en": "All declined"},
    "reporting.label.primary": {"nl": "Basisonderwijs", "en": "Primary"},
    "reporting.label.secondary": {"nl": "Secundair onderwijs", "en": "Secondary"},
    "reporting.label.special_needs": {"nl": "Buitengewoon onderwijs", "en": "Special needs"},
    "reporting.label.web": {"nl": "Webformulier", "en": "Web form"},
    "reporting.label.email": {"nl": "E-mail", "en": "E-mail"},
    "reporting.label.phone": {"nl": "Telefoon", "en": "Phone"},
    "reporting.label.api": {"nl": "API", "en": "API"},
    # --- portal ---
    "portal.title": {"nl": "Meldpunt — medewerkers", "en": "Contact point — staff"},
    "portal.login.title": {"nl": "Aanmelden", "en": "Log in"},
    "portal.login.username": {"nl": "Gebruikersnaam", "en": "Username"},
    "portal.login.password": {"nl": "Wachtwoord", "en": "Password"},
    "portal.login.submit": {"nl": "Aanmelden", "en": "Log in"},
    "portal.login.failed": {"nl": "Onbekende gebruiker of fout wachtwoord.",
                            "en": "Unknown user or wrong password."},
    "portal.logout": {"nl": "Afmelden", "en": "Log out"},
    "portal.logged_out": {"nl": "U bent afgemeld.", "en": "You are logged out."},
    "portal.logged_in_as": {"nl": "Aangemeld als {username} ({network})",
                            "en": "Logged in as {username} ({network})"},
    "portal.forbidden": {"nl": "Deze pagina is alleen voor coördinatoren van het netwerk.",
                         "en": "This page is for the network's coordinators only."},
    "portal.inbox.title": {"nl": "Meldingen van netwerk {network}", "en": "Referrals of network {network}"},
    "portal.inbox.empty": {"nl": "Nog geen meldingen.", "en": "No referrals yet."},
    "portal.column.ref": {"nl": "Referentie", "en": "Reference"},
    "portal.column.state": {"nl": "Status", "en": "State"},
    "portal.column.due": {"nl": "Termijn", "en": "Deadline"},
    "portal.column.categories": {"nl": "Zorgen", "en": "Concerns"},
    "portal.column.updated": {"nl": "Laatste wijziging", "en": "Last change"},
    "portal.column.when": {"nl": "Wanneer", "en": "When"},
    "portal.column.change": {"nl": "Wijziging", "en": "Change"},
    "portal.column.who": {"nl": "Door", "en": "By"},
    "portal.column.why": {"nl": "Reden", "en": "Reason"},
    "portal.column.deadline": {"nl": "Termijn", "en": "Deadline"},
    "portal.column.offer": {"nl": "Aanbod", "en": "Offer"},
    "portal.column.organisation": {"nl": "Organisatie", "en": "Organisation"},
    "portal.column.score": {"nl": "Score", "en": "Score"},
    "portal.column.explanation": {"nl": "Uitleg", "en": "Explanation"},
    "portal.column.status": {"nl": "Status", "en": "Status"},
    "portal.due_on": {"nl": "te doen tegen {date}", "en": "due on {date}"},
    "portal.open": {"nl": "Openen", "en": "Open"},
    "portal.back": {"nl": "Terug naar het overzicht", "en": "Back to the overview"},
    "portal.none": {"nl": "Geen.", "en": "None."},
    "portal.detail.title": {"nl": "Melding {ref}", "en": "Referral {ref}"},
    "portal.detail.history": {"nl": "Verloop", "en": "History"},
    "portal.detail.deadlines": {"nl": "Termijnen", "en": "Deadlines"},
    "portal.detail.candidates": {"nl": "Voorgestelde partners", "en": "Proposed partners"},
    "portal.detail.engagements": {"nl": "Ingeschakelde partners", "en": "Engaged partners"},
    "portal.detail.feedback": {"nl": "Terugkoppeling", "en": "Feedback"},
    "portal.detail.actions": {"nl": "Acties", "en": "Actions"},
    "portal.detail.no_actions": {"nl": "Er is nu geen actie van u nodig.", "en": "No action of yours is needed now."},
    "portal.action.confirm_school_efforts": {"nl": "Inspanningen van de school bevestigen",
                                             "en": "Confirm the school's efforts"},
    "portal.action.triage": {"nl": "Triage", "en": "Triage"},
    "portal.action.choose_partner": {"nl": "Partner kiezen", "en": "Choose partner"},
    "portal.action.close": {"nl": "Afsluiten", "en": "Close"},
    "portal.decision.accept": {"nl": "Aanvaarden", "en": "Accept"},
    "portal.decision.reject": {"nl": "Niet aanvaarden", "en": "Reject"},
    "portal.decision.redirect": {"nl": "Doorverwijzen", "en": "Redirect"},
    "portal.field.decision": {"nl": "Beslissing", "en": "Decision"},
    "portal.field.reason": {"nl": "Reden", "en": "Reason"},
    "portal.field.outcome": {"nl": "Resultaat", "en": "Outcome"},
    "portal.field.summary": {"nl": "Wat deed de school (wat, wanneer, resultaat)?",
                             "en": "What did the school do (what, when, result)?"},
    "portal.submit": {"nl": "Bevestigen", "en": "Confirm"},
    "portal.candidate.matched": {"nl": "past op", "en": "matches"},
    "portal.candidate.unmatched": {"nl": "past niet op", "en": "does not match"},
    "portal.error.title": {"nl": "Dat lukte niet", "en": "That did not work"},
    "portal.error.not_found": {"nl": "Deze melding bestaat niet of hoort bij een ander netwerk.",
                               "en": "This referral does not exist or belongs to another network."},
    "portal.error.page_not_found": {"nl": "Pagina niet gevonden.", "en": "Page not found."},
    "portal.error.unavailable": {"nl": "De workflowdienst is nu niet bereikbaar. Probeer het straks opnieuw.",
                                 "en": "The workflow service cannot be reached now. Please try again shortly."},
    "portal.error.remote": {"nl": "De workflowdienst kon dit niet verwerken.",
                            "en": "The workflow service could not process this."},
    "portal.error.not_text": {"nl": "Geef tekst.", "en": "Give text."},
    "portal.error.choose_offer": {"nl": "Kies minstens één partner.", "en": "Choose at least one partner."},
    "portal.error.unknown_action": {"nl": "Onbekende actie: {action}.", "en": "Unknown action: {action}."},
    "portal.error.args_object": {"nl": "De argumenten moeten een JSON-object zijn.",
                                 "en": "The arguments must be a JSON object."},
    "portal.error.invalid_json": {"nl": "Geen geldige JSON.", "en": "Not valid JSON."},
    "portal.error.login_required": {"nl": "Aanmelden vereist.", "en": "Login required."},
    "portal.error.engagement_not_found": {"nl": "Deze link is ongeldig of niet meer geldig.",
                                          "en": "This link is not valid (any more)."},
    "portal.engagement.title": {"nl": "Vraag tot inschakeling {ref}", "en": "Request to engage {ref}"},
    "portal.engagement.intro": {"nl": "Het meldpunt vraagt uw organisatie om deze melding op te nemen.",
                                "en": "The contact point asks your organisation to take up this referral."},
    "portal.engagement.accept": {"nl": "Ja, wij nemen dit op", "en": "Yes, we take this up"},
    "portal.engagement.decline": {"nl": "Nee, wij kunnen dit niet opnemen", "en": "No, we cannot take this up"},
    "portal.engagement.decline_reason": {"nl": "Reden (verplicht bij weigeren)",
                                         "en": "Reason (required when declining)"},
    "portal.engagement.feedback_intro": {
        "nl": "Geef terugkoppeling aan de school en het meldpunt: wat werd afgesproken, hoe loopt het (geen gevoelige details).",
        "en": "Give feedback to the school and the contact point: what was agreed, how it goes (no sensitive details)."},
    "portal.engagement.feedback_submit": {"nl": "Terugkoppeling versturen", "en": "Send feedback"},
    "portal.engagement.accepted": {"nl": "Bedankt, u hebt de vraag aanvaard. U kunt hier later terugkoppeling geven.",
                                   "en": "Thank you, you accepted the request. You can give feedback here later."},
    "portal.engagement.declined": {"nl": "Bedankt, u hebt de vraag geweigerd. Het meldpunt zoekt een andere partner.",
                                   "en": "Thank you, you declined the request. The contact point looks for another partner."},
    "portal.engagement.feedback_sent": {"nl": "Bedankt, uw terugkoppeling is bewaard.",
                                        "en": "Thank you, your feedback was recorded."},
    "portal.engagement.no_more_action": {"nl": "Op deze vraag is geen antwoord meer nodig.",
                                         "en": "This request needs no answer any more."},
    "portal.engagement.back": {"nl": "Terug naar de vraag", "en": "Back to the request"},
    "portal.engagement_status.proposed": {"nl": "Voorgesteld", "en": "Proposed"},
    "portal.engagement_status.accepted": {"nl": "Aanvaard", "en": "Accepted"},
    "portal.engagement_status.declined": {"nl": "Geweigerd", "en": "Declined"},
    "portal.engagement_status.expired": {"nl": "Verlopen", "en": "Expired"},
    "portal.engagement_status.completed": {"nl": "Afgerond", "en": "Completed"},
    "portal.engagement_status.withdrawn": {"nl": "Ingetrokken", "en": "Withdrawn"},
    "portal.inbox.filter": {"nl": "Filter", "en": "Filter"},
    "portal.inbox.all": {"nl": "Alle", "en": "All"},
    "portal.inbox.open_only": {"nl": "Open meldingen", "en": "Open referrals"},
    "portal.inbox.overdue_only": {"nl": "Alleen te laat", "en": "Overdue only"},
    "portal.column.urgency": {"nl": "Dringendheid", "en": "Urgency"},
    "portal.column.attention": {"nl": "Vraagt aandacht", "en": "Needs attention"},
    "portal.column.network": {"nl": "Netwerk", "en": "Network"},
    "portal.urgency.normal": {"nl": "Gewoon", "en": "Normal"},
    "portal.urgency.urgent": {"nl": "Dringend", "en": "Urgent"},
    "portal.overdue": {"nl": "te laat sinds {date}", "en": "overdue since {date}"},
    "portal.deadline.draft": {"nl": "Concept aanvullen", "en": "Complete the draft"},
    "portal.deadline.school_efforts": {"nl": "Inspanningen school", "en": "School efforts"},
    "portal.deadline.school_efforts_reminder": {"nl": "Herinnering aan de school", "en": "Reminder to the school"},
    "portal.deadline.triage": {"nl": "Triage", "en": "Triage"},
    "portal.deadline.information": {"nl": "Antwoord van de melder", "en": "Reporter's answer"},
    "portal.deadline.matching": {"nl": "Partner kiezen", "en": "Choose a partner"},
    "portal.deadline.partner_reminder": {"nl": "Herinnering aan {name}", "en": "Reminder to {name}"},
    "portal.deadline.partner_response": {"nl": "Antwoord van {name}", "en": "Answer of {name}"},
    "portal.deadline.feedback": {"nl": "Terugkoppeling van {name}", "en": "Feedback of {name}"},
    "portal.deadline.closure": {"nl": "Afsluiten", "en": "Close"},
    "portal.deadline.retention": {"nl": "Anonimiseren", "en": "Anonymise"},
    "portal.attention.escalation": {"nl": "Termijn verstreken", "en": "Deadline passed"},
    "portal.attention.help_requested": {"nl": "Partner vraagt hulp", "en": "Partner asks for help"},
    "portal.attention.ready_to_close": {"nl": "Klaar om af te sluiten", "en": "Ready to close"},
    "portal.attention.information_answered": {"nl": "Melder antwoordde", "en": "Reporter answered"},
    "portal.attention.duplicate_linked": {"nl": "Dubbele melding samengevoegd", "en": "Duplicate merged in"},
    "portal.detail.log": {"nl": "Acties", "en": "Actions"},
    "portal.detail.questions": {"nl": "Vragen aan de melder", "en": "Questions to the reporter"},
    "portal.detail.attention": {"nl": "Vraagt uw aandacht", "en": "Needs your attention"},
    "portal.column.question": {"nl": "Vraag", "en": "Question"},
    "portal.column.answer": {"nl": "Antwoord", "en": "Answer"},
    "portal.column.action": {"nl": "Actie", "en": "Action"},
    "portal.column.details": {"nl": "Details", "en": "Details"},
    "portal.action.complete_draft": {"nl": "Concept aanvullen", "en": "Complete the draft"},
    "portal.action.ask_information": {"nl": "Vraag stellen aan de melder", "en": "Ask the reporter"},
    "portal.action.redirect": {"nl": "Doorverwijzen naar een andere dienst", "en": "Redirect to another service"},
    "portal.action.mark_duplicate": {"nl": "Dubbele melding: samenvoegen", "en": "Duplicate: merge"},
    "portal.action.extend_deadline": {"nl": "Termijn verlengen", "en": "Extend a deadline"},
    "portal.action.acknowledge": {"nl": "Gezien", "en": "Seen"},
    "portal.action.withdraw": {"nl": "Melding intrekken", "en": "Withdraw the referral"},
    "portal.field.school_efforts_done": {"nl": "De school deed al genoeg", "en": "The school already did enough"},
    "portal.field.question": {"nl": "Vraag", "en": "Question"},
    "portal.field.to_service": {"nl": "Naar welke dienst?", "en": "To which service?"},
    "portal.field.target": {"nl": "Referentie van de melding waarin deze opgaat",
                            "en": "Reference of the referral to merge into"},
    "portal.field.deadline": {"nl": "Termijn", "en": "Deadline"},
    "portal.field.working_days": {"nl": "Extra werkdagen", "en": "Extra working days"},
    "portal.field.note": {"nl": "Opmerking", "en": "Note"},
    "portal.field.re_engaged": {"nl": "Is de jongere opnieuw betrokken bij school?",
                                "en": "Did the young person re-engage with school?"},
    "portal.field.what_was_done": {"nl": "Wat werd gedaan?", "en": "What was done?"},
    "portal.re_engaged.yes": {"nl": "Ja", "en": "Yes"},
    "portal.re_engaged.partly": {"nl": "Gedeeltelijk", "en": "Partly"},
    "portal.re_engaged.no": {"nl": "Nee", "en": "No"},
    "portal.decline_reason.no_capacity": {"nl": "Geen plaats", "en": "No capacity"},
    "portal.decline_reason.outside_area": {"nl": "Buiten ons werkingsgebied", "en": "Outside our area"},
    "portal.decline_reason.not_our_expertise": {"nl": "Niet onze expertise", "en": "Not our expertise"},
    "portal.decline_reason.family_unreachable": {"nl": "Gezin onbereikbaar", "en": "Family unreachable"},
    "portal.decline_reason.other": {"nl": "Andere (licht toe)", "en": "Other (explain)"},
    "portal.end_outcome.goal_reached": {"nl": "Doel bereikt", "en": "Goal reached"},
    "portal.end_outcome.partly_reached": {"nl": "Deels bereikt", "en": "Partly reached"},
    "portal.end_outcome.not_reached": {"nl": "Niet bereikt", "en": "Not reached"},
    "portal.end_outcome.stopped": {"nl": "Gestopt", "en": "Stopped"},
    "portal.error.unknown_target": {"nl": "Geen open melding met deze referentie in uw netwerk.",
                                    "en": "No open referral with this reference in your network."},
    "portal.error.command_id": {"nl": "Ongeldige formulier-id; laad de pagina opnieuw.",
                                "en": "Invalid form id; reload the page."},
    "portal.engagement.decline_code": {"nl": "Waarom niet?", "en": "Why not?"},
    "portal.engagement.note": {"nl": "Toelichting (verplicht bij 'andere')",
                               "en": "Explanation (required for 'other')"},
    "portal.engagement.help_intro": {"nl": "Loopt het vast? Vraag het meldpunt om hulp.",
                                     "en": "Stuck? Ask the contact point for help."},
    "portal.engagement.help_submit": {"nl": "Hulp vragen", "en": "Ask for help"},
    "portal.engagement.help_sent": {"nl": "Bedankt, het meldpunt neemt contact op.",
                                    "en": "Thank you, the contact point will get in touch."},
    "portal.engagement.end_intro": {"nl": "Is uw begeleiding afgerond? Meld het einde met het resultaat.",
                                    "en": "Has your support ended? Report the end with its outcome."},
    "portal.engagement.end_outcome": {"nl": "Resultaat", "en": "Outcome"},
    "portal.engagement.end_submit": {"nl": "Einde melden", "en": "Report the end"},
    "portal.engagement.end_sent": {"nl": "Bedankt, het einde van uw begeleiding is bewaard.",
                                   "en": "Thank you, the end of your support was recorded."},
    "portal.information.title": {"nl": "Vraag over melding {ref}", "en": "Question about referral {ref}"},
    "portal.information.intro": {"nl": "Het meldpunt heeft een vraag over uw melding:",
                                 "en": "The contact point has a question about your referral:"},
    "portal.information.answer": {"nl": "Uw antwoord", "en": "Your answer"},
    "portal.information.submit": {"nl": "Antwoord versturen", "en": "Send the answer"},
    "portal.information.thanks": {"nl": "Bedankt, uw antwoord is bewaard.", "en": "Thank you, your answer was recorded."},
    "portal.information.invalid": {"nl": "Deze link is ongeldig of de vraag is al beantwoord.",
                                   "en": "This link is not valid or the question was already answered."},
}
