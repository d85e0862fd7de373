"""The portal: staff web UI and JSON API. Thin entrypoints; the work is in web.py, auth.py,
tasks.py. It reaches the workflows only through the bridge's `workflow_bridge` RPC service."""
from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from netsterk.nameko_support import event_handler, rpc  # quorum-capable

from netsterk.contracts import (
    BRIDGE, ENGAGEMENT_CHANGED, INTAKE, PORTAL, REFERRAL_ANONYMISE, REFERRAL_ERASED, REFERRAL_STATE_CHANGED,
    REFERRAL_TASK_UPDATED, WORKFLOW,
)
from netsterk.db import session_scope
from netsterk.nameko_support import Database, consume_once, erase_and_confirm, health_report, http_health
from services.portal import directory
from services.portal import catalogue_pages, conference_pages, plan_pages
from services.portal import auth, intake_entry, mailbox, privacy_pages, tasks, web
from services.portal import link_pages, template_pages
from services.portal import account_pages, admin_pages, ops_pages, partner_pages
from services.portal.security import PageLanguage, http   # CSRF, security headers, language
from services.portal import reports as report_area
from services.portal.models import ProcessedMessage

REFERRAL = "/referrals/<string:referral_id>"
ENGAGEMENT = "/engagements/<string:referral_id>/<string:token>"
INFORMATION = "/information/<string:referral_id>/<string:token>"
SCHOOL_EFFORTS = "/school-efforts/<string:referral_id>/<string:token>"


class PortalService:
    name = PORTAL

    db = Database(PORTAL)
    config = Config()
    bridge = RpcProxy(BRIDGE)
    reporting = RpcProxy("reporting")
    matching = RpcProxy("matching")
    intake = RpcProxy(INTAKE)
    notifications = RpcProxy("notifications")
    language = PageLanguage()

    # --- RPC ---
    @rpc
    def health(self):
        return health_report(self.name, self.db)

    @http("GET", "/health")
    def health_page(self, request):
        return http_health(self.name, self.db)

    @rpc
    def upsert_user(self, username, password, role, network, organisation_id=None, lang="nl",
                    totp_secret=None):
        with session_scope(self.db) as session:
            user, created = auth.upsert_user(session, username, password, role, network,
                                             organisation_id, lang, totp_secret)
            return dict(auth.user_dict(user), created=created)

    # --- events ---
    @event_handler(WORKFLOW, REFERRAL_STATE_CHANGED)
    def on_referral_state_changed(self, body):
        consume_once(self, consumer="portal.on_referral_state_changed", body=body,
                     apply=tasks.apply_state_changed, processed_model=ProcessedMessage)

    @event_handler(WORKFLOW, REFERRAL_TASK_UPDATED)
    def on_referral_task_updated(self, body):
        consume_once(self, consumer="portal.on_referral_task_updated", body=body,
                     apply=tasks.apply_state_changed, processed_model=ProcessedMessage)

    @event_handler(WORKFLOW, ENGAGEMENT_CHANGED)
    def on_engagement_changed(self, body):
        consume_once(self, consumer="portal.on_engagement_changed", body=body,
                     apply=partner_pages.apply_engagement_changed, processed_model=ProcessedMessage)

    @event_handler(WORKFLOW, REFERRAL_ANONYMISE)
    def on_referral_anonymise(self, body):
        consume_once(self, consumer="portal.on_referral_anonymise", body=body,
                     apply=tasks.apply_anonymise, processed_model=ProcessedMessage)

    @event_handler(INTAKE, REFERRAL_ERASED)
    def on_referral_erased(self, body):
        erase_and_confirm(self, consumer="portal.on_referral_erased", body=body,
                          erase=tasks.erase, processed_model=ProcessedMessage)

    # --- staff pages ---
    # --- referrals entered by staff (through intake) ---
    @http("GET", "/referrals/phone")
    def phone_form(self, request):
        return intake_entry.phone_form(self, request)

    @http("POST", "/referrals/phone")
    def phone_submit(self, request):
        return intake_entry.phone_submit(self, request)

    @http("GET", "/mail")
    def mail_page(self, request):
        return mailbox.mailbox(self, request)

    @http("GET", "/mail/<string:mail_id>")
    def mail_show(self, request, mail_id):
        return mailbox.show(self, request, mail_id=mail_id)

    @http("POST", "/mail/<string:mail_id>/reprocess")
    def mail_reprocess(self, request, mail_id):
        return mailbox.reprocess(self, request, mail_id=mail_id)

    @http("GET", "/engagements/direct")
    def direct_form(self, request):
        return intake_entry.direct_form(self, request)

    @http("POST", "/engagements/direct")
    def direct_submit(self, request):
        return intake_entry.direct_submit(self, request)

    @http("GET", "/login")
    def login_form(self, request):
        return web.login_form(self, request)

    @http("POST", "/login")
    def login(self, request):
        return web.login(self, request)

    @http("GET,POST", "/logout")
    def logout(self, request):
        return web.logout(self, request)

    # --- issue 9: second factor, language, partner accounts, reporter status, admin, ops ---
    @http("GET", "/login/totp")
    def totp_form(self, request):
        return web.totp_form(self, request)

    @http("POST", "/login/totp")
    def totp_submit(self, request):
        return web.totp_submit(self, request)

    @http("GET", "/login/enrol")
    def enrol_form(self, request):
        return web.enrol_form(self, request)

    @http("POST", "/login/enrol")
    def enrol_submit(self, request):
        return web.enrol_submit(self, request)

    @http("GET", "/language")
    def language_switch(self, request):
        return web.language(self, request)

    @http("GET", "/partner")
    def partner_engagements(self, request):
        return partner_pages.engagements(self, request)

    @http("GET", "/partner/referrals/<string:referral_id>")
    def partner_engagement(self, request, referral_id):
        return partner_pages.engagement(self, request, referral_id=referral_id)

    @http("GET", "/status/<string:referral_id>/<string:token>")
    def reporter_status(self, request, referral_id, token):
        return partner_pages.status(self, request, referral_id=referral_id, token=token)

    @http("GET", "/admin")
    def admin_home(self, request):
        return admin_pages.home(self, request)

    @http("GET", "/admin/users")
    def admin_users(self, request):
        return admin_pages.users(self, request)

    @http("POST", "/admin/users")
    def admin_users_submit(self, request):
        return admin_pages.users_submit(self, request)

    @http("GET", "/admin/categories")
    def admin_categories(self, request):
        return admin_pages.categories(self, request)

    @http("POST", "/admin/categories")
    def admin_categories_submit(self, request):
        return admin_pages.categories_submit(self, request)

    @http("GET", "/admin/deadlines")
    def admin_deadlines(self, request):
        return admin_pages.deadlines(self, request)

    @http("POST", "/admin/deadlines")
    def admin_deadlines_submit(self, request):
        return admin_pages.deadlines_submit(self, request)

    @http("GET", "/account/tokens")
    def account_tokens(self, request):
        return account_pages.tokens(self, request)

    @http("POST", "/account/tokens")
    def account_token_create(self, request):
        return account_pages.create(self, request)

    @http("POST", "/account/tokens/<string:token_id>/revoke")
    def account_token_revoke(self, request, token_id):
        return account_pages.revoke(self, request, token_id=token_id)

    @http("GET", "/ops")
    def ops_home(self, request):
        return ops_pages.health_page(self, request)

    @http("GET", "/ops/queues")
    def ops_queues(self, request):
        return ops_pages.queues(self, request)

    @http("GET", "/ops/queues/<string:queue>")
    def ops_dead_letters(self, request, queue):
        return ops_pages.dead_letters(self, request, queue=queue)

    @http("POST", "/ops/queues/<string:queue>/replay")
    def ops_replay(self, request, queue):
        return ops_pages.replay(self, request, queue=queue)

    @http("GET", "/ops/workflows")
    def ops_workflows(self, request):
        return ops_pages.workflows(self, request)
    # --- end issue 9 ---

    @http("GET", "/")
    def inbox(self, request):
        return web.inbox(self, request)

    @http("GET", REFERRAL)
    def referral_detail(self, request, referral_id):
        return web.referral_detail(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/actions/<string:action>")
    def referral_action(self, request, referral_id, action):
        return web.referral_action(self, request, referral_id=referral_id, action=action)

    @http("GET", "/static/<string:name>")
    def static(self, request, name):
        return web.static_file(name)

    # --- partner pages (no login; the token is the key) ---
    @http("GET", ENGAGEMENT)
    def engagement(self, request, referral_id, token):
        return web.engagement(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/respond")
    def engagement_respond(self, request, referral_id, token):
        return web.engagement_respond(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/feedback")
    def engagement_feedback(self, request, referral_id, token):
        return web.engagement_feedback(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/help")
    def engagement_help(self, request, referral_id, token):
        return web.engagement_help(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/end")
    def engagement_end(self, request, referral_id, token):
        return web.engagement_end(self, request, referral_id=referral_id, token=token)

    # --- the reporter's answer to a question (no login; the token is the key) ---
    @http("GET", INFORMATION)
    def information(self, request, referral_id, token):
        return web.information(self, request, referral_id=referral_id, token=token)

    @http("POST", INFORMATION)
    def information_answer(self, request, referral_id, token):
        return web.information_answer(self, request, referral_id=referral_id, token=token)

    # --- the school confirms its efforts (no login; the token is the key) ---
    @http("GET", SCHOOL_EFFORTS)
    def school_efforts(self, request, referral_id, token):
        return web.school_efforts(self, request, referral_id=referral_id, token=token)

    @http("POST", SCHOOL_EFFORTS)
    def school_efforts_confirm(self, request, referral_id, token):
        return web.school_efforts_confirm(self, request, referral_id=referral_id, token=token)

    # --- signed single-action links from e-mails, failed e-mails, templates (issue 7) ---
    @http("GET", "/l/<string:token>")
    def signed_link(self, request, token):
        return link_pages.link_page(self, request, token=token)

    @http("POST", "/l/<string:token>")
    def signed_link_submit(self, request, token):
        return link_pages.link_submit(self, request, token=token)

    @http("GET", "/notifications/failed")
    def notifications_failed(self, request):
        return template_pages.failed_page(self, request)

    @http("POST", "/notifications/failed/<string:mail_id>/retry")
    def notifications_retry(self, request, mail_id):
        return template_pages.failed_retry(self, request, mail_id=mail_id)

    @http("GET", "/notifications/templates")
    def notifications_templates(self, request):
        return template_pages.templates_page(self, request)

    @http("GET", "/notifications/languages")
    def notifications_languages(self, request):
        return template_pages.languages_page(self, request)

    @http("POST", "/notifications/languages")
    def notifications_languages_submit(self, request):
        return template_pages.languages_submit(self, request)

    @http("GET", "/notifications/templates/<string:template>/<string:lang>")
    def notifications_template(self, request, template, lang):
        return template_pages.template_edit(self, request, template=template, lang=lang)

    @http("POST", "/notifications/templates/<string:template>/<string:lang>")
    def notifications_template_submit(self, request, template, lang):
        return template_pages.template_submit(self, request, template=template, lang=lang)

    # --- directory (issue 5): partners' own entries, admin approval, rules, gaps, HSDS ---
    @http("GET", "/directory")
    def directory_index(self, request):
        return directory.index(self, request)

    @http("GET", "/directory/organisations/<string:organisation_id>")
    def directory_organisation(self, request, organisation_id):
        return directory.organisation(self, request, organisation_id=organisation_id)

    @http("POST", "/directory/organisations/<string:organisation_id>")
    def directory_organisation_submit(self, request, organisation_id):
        return directory.organisation_submit(self, request, organisation_id=organisation_id)

    @http("GET", "/directory/changes")
    def directory_changes(self, request):
        return directory.changes(self, request)

    @http("POST", "/directory/changes/<string:change_id>")
    def directory_decide(self, request, change_id):
        return directory.decide(self, request, change_id=change_id)

    @http("GET", "/directory/rules")
    def directory_rules(self, request):
        return directory.rules(self, request)

    @http("POST", "/directory/rules")
    def directory_rules_submit(self, request):
        return directory.rules_submit(self, request)

    @http("GET", "/directory/gaps")
    def directory_gaps(self, request):
        return directory.gaps(self, request)

    @http("GET", "/api/v1/hsds/<string:collection>")
    def hsds_collection(self, request, collection):
        return directory.hsds(self, request, collection=collection)

    @http("GET", "/api/v1/hsds/<string:collection>/<string:item_id>")
    def hsds_item(self, request, collection, item_id):
        return directory.hsds(self, request, collection=collection, item_id=item_id)

    # --- reports (issue 8): the analyst area, protected figures only ---
    @http("GET", "/reports")
    def reports(self, request):
        return report_area.reports_page(self, request)

    @http("GET", "/reports/charts/<string:name>.svg")
    def report_chart(self, request, name):
        return report_area.chart(self, request, name=name)

    @http("GET", "/reports/export.csv")
    def report_export_csv(self, request):
        return report_area.export_csv(self, request)

    @http("GET", "/reports/export.parquet")
    def report_export_parquet(self, request):
        return report_area.export_parquet(self, request)

    @http("GET", "/reports/periodic.html")
    def report_periodic(self, request):
        return report_area.periodic_report(self, request)

    # --- privacy (issue 10): rights of access / erasure, the audit log ---
    @http("GET", "/privacy")
    def privacy_index(self, request):
        return privacy_pages.index(self, request)

    @http("POST", "/privacy/export")
    def privacy_export(self, request):
        return privacy_pages.export(self, request)

    @http("POST", "/privacy/erase")
    def privacy_erase(self, request):
        return privacy_pages.erase(self, request)

    @http("GET", "/privacy/erasure")
    def privacy_erasure(self, request):
        return privacy_pages.erasure_status(self, request)

    @http("GET", "/privacy/audit")
    def privacy_audit(self, request):
        return privacy_pages.audit_page(self, request)

    # --- working together around one young person (issue 13) ---
    @http("GET", REFERRAL + "/plan")
    def plan(self, request, referral_id):
        return plan_pages.coordinator_plan(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/plan/items")
    def plan_add(self, request, referral_id):
        return plan_pages.coordinator_add_item(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/plan/items/<string:item_id>")
    def plan_change(self, request, referral_id, item_id):
        return plan_pages.coordinator_change_item(self, request, referral_id=referral_id, item_id=item_id)

    @http("POST", REFERRAL + "/plan/contact")
    def plan_contact(self, request, referral_id):
        return plan_pages.coordinator_contact(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/voice")
    def voice(self, request, referral_id):
        return plan_pages.coordinator_voice(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/voice/withdraw")
    def voice_withdraw(self, request, referral_id):
        return plan_pages.coordinator_withdraw(self, request, referral_id=referral_id)

    @http("GET", ENGAGEMENT + "/plan")
    def partner_plan(self, request, referral_id, token):
        return plan_pages.partner_plan(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/plan/items")
    def partner_plan_add(self, request, referral_id, token):
        return plan_pages.partner_add_item(self, request, referral_id=referral_id, token=token)

    @http("POST", ENGAGEMENT + "/plan/items/<string:item_id>")
    def partner_plan_change(self, request, referral_id, token, item_id):
        return plan_pages.partner_change_item(self, request, referral_id=referral_id, token=token,
                                              item_id=item_id)

    @http("GET", "/plan/<string:referral_id>/school/<string:signature>")
    def school_plan(self, request, referral_id, signature):
        return plan_pages.school_plan(self, request, referral_id=referral_id, signature=signature)

    @http("GET", REFERRAL + "/conferences")
    def conferences(self, request, referral_id):
        return conference_pages.conferences(self, request, referral_id=referral_id)

    @http("POST", REFERRAL + "/conferences")
    def conference_create(self, request, referral_id):
        return conference_pages.create(self, request, referral_id=referral_id)

    @http("GET", "/conferences/<string:conference_id>")
    def conference(self, request, conference_id):
        return conference_pages.detail(self, request, conference_id=conference_id)

    @http("POST", "/conferences/<string:conference_id>/invite")
    def conference_invite(self, request, conference_id):
        return conference_pages.invite(self, request, conference_id=conference_id)

    @http("POST", "/conferences/<string:conference_id>/confirm")
    def conference_confirm(self, request, conference_id):
        return conference_pages.confirm(self, request, conference_id=conference_id)

    @http("POST", "/conferences/<string:conference_id>/record")
    def conference_record(self, request, conference_id):
        return conference_pages.record(self, request, conference_id=conference_id)

    @http("POST", "/conferences/<string:conference_id>/tasks")
    def conference_tasks(self, request, conference_id):
        return conference_pages.retry_tasks(self, request, conference_id=conference_id)

    @http("POST", REFERRAL + "/tasks/<string:task_id>/done")
    def task_done(self, request, referral_id, task_id):
        return conference_pages.task_done(self, request, referral_id=referral_id, task_id=task_id)

    @http("GET", "/catalogue")
    def catalogue(self, request):
        return catalogue_pages.catalogue(self, request)

    @http("POST", "/catalogue/sessions/<string:session_id>/register")
    def session_register(self, request, session_id):
        return catalogue_pages.register(self, request, session_id=session_id)

    @http("GET", "/catalogue/sessions")
    def sessions(self, request):
        return catalogue_pages.sessions(self, request)

    @http("POST", "/catalogue/sessions")
    def session_announce(self, request):
        return catalogue_pages.announce(self, request)

    @http("GET", "/catalogue/sessions/<string:session_id>/registrations")
    def session_registrations(self, request, session_id):
        return catalogue_pages.registrations(self, request, session_id=session_id)

    # --- JSON API ---
    @http("GET", "/api/v1/tasks")
    def api_tasks(self, request):
        return web.api_tasks(self, request)

    @http("GET", "/api/v1" + REFERRAL)
    def api_referral(self, request, referral_id):
        return web.api_referral(self, request, referral_id=referral_id)

    @http("POST", "/api/v1" + REFERRAL + "/actions/<string:action>")
    def api_action(self, request, referral_id, action):
        return web.api_action(self, request, referral_id=referral_id, action=action)
