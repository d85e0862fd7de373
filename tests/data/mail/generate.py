"""Writes the e-mail gateway's test corpus: one raw message per .eml file and MANIFEST.tsv
(file, expected_kind, expected_reference, note). All content is invented.

    .venv/bin/python tests/data/mail/generate.py

Bounces follow the shapes of Postfix, Exim, Exchange/Office 365, Gmail, qmail and Sendmail
notifications; out-of-office replies those of Outlook, Gmail and the Unix `vacation` program."""
from __future__ import annotations

import base64
import binascii
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
OURS = "netsterk.example"
CP = "meldpunt@netsterk.example"
DATE = "Tue, 03 Nov 2026 09:14:00 +0100"
ENTRIES: list[tuple[str, str, str, str]] = []


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def add(name: str, kind: str, data: bytes | str, note: str, reference: str = "") -> None:
    if isinstance(data, str):
        data = crlf(data)
    (HERE / name).write_bytes(data)
    ENTRIES.append((name, kind, reference, note))


def headers(frm: str, subject: str, *, mid: str, extra: str = "", to: str = CP, date: str = DATE) -> str:
    return (f"From: {frm}\nTo: {to}\nSubject: {subject}\nDate: {date}\nMessage-ID: <{mid}>\n"
            f"MIME-Version: 1.0\n{extra}")


def original(ref: str, mid: str, to: str = "ouder.janssens@mail.example") -> str:
    return (f"From: Meldpunt NETSTERK <{CP}>\nTo: {to}\nSubject: [{ref}] Uw melding is ontvangen\n"
            f"Date: Mon, 02 Nov 2026 16:00:00 +0000\nMessage-ID: <{mid}@{OURS}>\nX-Netsterk-Ref: {ref}\n"
            "Auto-Submitted: auto-generated\nContent-Type: text/plain; charset=utf-8\n\n"
            "Beste, we hebben uw melding goed ontvangen.\n")


def dsn(reporter: str, recipient: str, status: str, action: str = "failed") -> str:
    return (f"Reporting-MTA: dns; {reporter}\nArrival-Date: {DATE}\n\n"
            f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
            f"Action: {action}\nStatus: {status}\nDiagnostic-Code: smtp; 550 {status} User unknown\n")


# --- bounces ------------------------------------------------------------------------------------

def bounces() -> None:
    b = "==BOUNCE_1=="
    add("bounce_postfix.eml", "bounce", f"""Return-Path: <>
{headers('MAILER-DAEMON@mx1.school.example (Mail Delivery System)', 'Undelivered Mail Returned to Sender', mid='20261103091400.1A2B3C@mx1.school.example')}Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"

This is a MIME-encapsulated message.

--{b}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.school.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<ouder.janssens@mail.example>: host mail.example[192.0.2.10] said: 550 5.1.1
    <ouder.janssens@mail.example>: Recipient address rejected: User unknown

--{b}
Content-Description: Delivery report
Content-Type: message/delivery-status

{dsn('mx1.school.example', 'ouder.janssens@mail.example', '5.1.1')}
--{b}
Content-Description: Undelivered Message
Content-Type: message/rfc822

{original('NS-2026-000101', 'a1b2c3d4e5f60001')}
--{b}--
""", "Postfix DSN, original attached with X-Netsterk-Ref", "NS-2026-000101")

    add("bounce_exim_text.eml", "bounce", f"""Return-path: <>
{headers('Mail Delivery System <Mailer-Daemon@mail.partner.example>', 'Mail delivery failed: returning message to sender', mid='E1vXyZ-0003Ab-7Q@mail.partner.example', extra='X-Failed-Recipients: jeugdwerker@partner.example' + chr(10) + 'Auto-Submitted: auto-replied' + chr(10))}Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  jeugdwerker@partner.example
    retry timeout exceeded

------ This is a copy of the message, including all the headers. ------

{original('NS-2026-000102', 'a1b2c3d4e5f60002', 'jeugdwerker@partner.example')}
""", "Exim plain-text bounce with X-Failed-Recipients and the copy inline", "NS-2026-000102")

    b = "1762160040-eximdsf"
    add("bounce_exim_report.eml", "bounce", f"""{headers('Mail Delivery System <Mailer-Daemon@exim.example>', 'Mail delivery failed: returning message to sender', mid='E1vXyZ-0009Zz-2b@exim.example', extra='Auto-Submitted: auto-replied' + chr(10))}Content-Type: multipart/report; report-type=delivery-status; boundary={b}

--{b}
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.
  clb@clb.example
    mailbox is full: retry timeout exceeded

--{b}
Content-type: message/delivery-status

{dsn('exim.example', 'clb@clb.example', '5.2.2')}
--{b}
Content-type: message/rfc822

{original('NS-2026-000103', 'a1b2c3d4e5f60003', 'clb@clb.example')}
--{b}--
""", "Exim 4.9x multipart/report (mailbox full)", "NS-2026-000103")

    b = "_000_DB7PR01MB4xyz_"
    add("bounce_exchange.eml", "bounce", f"""{headers('postmaster@school.example', 'Undeliverable: [NS-2026-000104] Uw melding is ontvangen', mid='0f2c91aa-77b4-4c3e-9d8c-1e2f3a4b5c6d@school.example')}Content-Language: en-US
X-MS-Exchange-Message-Is-Ndr:
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{b}"

--{b}
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

leerkracht@school.example
The e-mail address you entered couldn't be found.

--{b}
Content-Type: message/delivery-status

{dsn('DB7PR01MB4xyz.eurprd01.prod.outlook.example', 'leerkracht@school.example', '5.1.10')}
--{b}
Content-Type: text/rfc822-headers

From: Meldpunt NETSTERK <{CP}>
To: leerkracht@school.example
Subject: [NS-2026-000104] Uw melding is ontvangen
Message-ID: <a1b2c3d4e5f60004@{OURS}>
X-Netsterk-Ref: NS-2026-000104

--{b}--
""", "Exchange NDR with text/rfc822-headers", "NS-2026-000104")

    b = "000000000000abcd1234"
    add("bounce_gmail.eml", "bounce", f"""{headers('Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)', mid='5f9a@mx.google.example', extra='Auto-Submitted: auto-replied' + chr(10))}Content-Type: multipart/report; boundary="{b}"; report-type=delivery-status

--{b}
Content-Type: multipart/related; boundary="{b}-rel"

--{b}-rel
Content-Type: multipart/alternative; boundary="{b}-alt"

--{b}-alt
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to mama.el.amrani@mail.example because the address couldn't be found.

--{b}-alt
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered.</p></body></html>
--{b}-alt--
--{b}-rel--
--{b}
Content-Type: message/delivery-status

{dsn('googlemail.com', 'mama.el.amrani@mail.example', '5.1.1')}
--{b}
Content-Type: message/rfc822

{original('NS-2026-000105', 'a1b2c3d4e5f60005', 'mama.el.amrani@mail.example')}
--{b}--
""", "Gmail DSN (related/alternative notice)", "NS-2026-000105")

    add("bounce_qmail.eml", "bounce", f"""Return-Path: <>
{headers('MAILER-DAEMON@mail.vzw.example', 'failure notice', mid='20261103091401.4242.qmail@mail.vzw.example')}
Hi. This is the qmail-send program at mail.vzw.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<begeleider@vzw.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <{CP}>
{original('NS-2026-000106', 'a1b2c3d4e5f60006', 'begeleider@vzw.example')}
""", "qmail failure notice, copy below the line", "NS-2026-000106")

    b = "SENDMAIL.1762160041"
    add("bounce_sendmail.eml", "bounce", f"""{headers('Mail Delivery Subsystem <MAILER-DAEMON@relay.example>', 'Returned mail: see transcript for details', mid='202611030914.A3E9Eabc@relay.example', extra='Auto-Submitted: auto-generated (failure)' + chr(10))}Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"

--{b}

The original message was received at {DATE}

   ----- The following addresses had permanent fatal errors -----
<sport@club.example>

--{b}
Content-Type: message/delivery-status

{dsn('relay.example', 'sport@club.example', '5.0.0')}
--{b}
Content-Type: message/rfc822

{original('NS-2026-000107', 'a1b2c3d4e5f60007', 'sport@club.example')}
--{b}--
""", "Sendmail returned mail", "NS-2026-000107")

    b = "_004_AM0PR_o365_"
    add("bounce_office365_nl.eml", "bounce", f"""{headers('Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@scholengroep.example>', '=?utf-8?Q?Onbestelbaar:_[NS-2026-000108]_Vraag_om_inspanningen?=', mid='bd1c5a1e-0d0f-4f6e-8c1a-aa00bb11cc22@scholengroep.example')}Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"

--{b}
Content-Type: text/html; charset="utf-8"

<html><body><p>Uw bericht is niet bezorgd bij <b>directie@scholengroep.example</b> omdat het adres niet is gevonden.</p></body></html>

--{b}
Content-Type: message/delivery-status

{dsn('AM0PR01MB1234.eurprd01.prod.outlook.example', 'directie@scholengroep.example', '5.4.1')}
--{b}
Content-Type: message/rfc822

{original('NS-2026-000108', 'a1b2c3d4e5f60008', 'directie@scholengroep.example')}
--{b}--
""", "Office 365 NDR in Dutch (Onbestelbaar), html notice", "NS-2026-000108")

    b = "==DELAY=="
    add("bounce_postfix_delayed.eml", "bounce", f"""{headers('MAILER-DAEMON@mx2.school.example (Mail Delivery System)', 'Delayed Mail (still being retried)', mid='20261103091402.DEF@mx2.school.example', extra='Auto-Submitted: auto-replied' + chr(10))}Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"

--{b}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx2.school.example.
####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

--{b}
Content-Type: message/delivery-status

{dsn('mx2.school.example', 'secretariaat@school.example', '4.4.1', action='delayed')}
--{b}
Content-Type: text/rfc822-headers

Message-ID: <a1b2c3d4e5f60009@{OURS}>
Subject: [NS-2026-000109] Herinnering
X-Netsterk-Ref: NS-2026-000109

--{b}--
""", "Postfix delay warning (Action: delayed)", "NS-2026-000109")

    add("bounce_daemon_plain.eml", "bounce", f"""{headers('postmaster@oud-domein.example', 'Delivery Status Notification (Failure)', mid='dsn-77@oud-domein.example')}Content-Type: text/plain; charset=iso-8859-1

Delivery to the following recipients failed.

       zorgcoordinator@oud-domein.example
""", "postmaster plain-text DSN, no report part")

    add("bounce_null_sender_subject.eml", "bounce", f"""Return-Path: <>
{headers('Mail Delivery System <bounces@hosting.example>', 'Undelivered Mail Returned to Sender', mid='hosting-bounce-1@hosting.example')}Content-Type: text/plain; charset=utf-8

Your message to leerlingbegeleiding@hosting.example could not be delivered: mailbox disabled.
""", "null Return-Path + failure subject from a non-daemon address")


# --- auto-replies -----------------------------------------------------------------------------

def auto_replies() -> None:
    add("ooo_outlook_nl.eml", "auto_reply", f"""{headers('Ine Claes <ine.claes@school.example>', 'Automatisch antwoord: [NS-2026-000110] Uw melding is ontvangen', mid='AM9PR01MB0001@school.example', extra='Auto-Submitted: auto-generated' + chr(10) + 'X-Auto-Response-Suppress: All' + chr(10) + f'In-Reply-To: <a1b2c3d4e5f60010@{OURS}>' + chr(10))}Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Beste,

Ik ben afwezig tot en met 9 november. Voor dringende vragen kan u terecht bij=
 het secretariaat (015 00 00 00).

Met vriendelijke groeten,
Ine
""", "Outlook out-of-office (Dutch), Auto-Submitted", "NS-2026-000110")

    add("ooo_outlook_en_subject_only.eml", "auto_reply", f"""{headers('Tom Peeters <tom.peeters@clb.example>', 'Automatic reply: [NS-2026-000111] Request for school efforts', mid='VI1PR02MB0002@clb.example')}Content-Type: text/plain; charset="us-ascii"

I am out of the office until Monday 9 November with limited access to e-mail.
""", "Outlook out-of-office (English) recognised by its subject alone", "NS-2026-000111")

    add("ooo_gmail_vacation_nl.eml", "auto_reply", f"""{headers('Sara Wouters <sara.wouters@gmail.example>', 'Re: [NS-2026-000112] Uw melding is ontvangen', mid='CAF=vac01@mail.gmail.example', extra='Auto-Submitted: auto-replied' + chr(10) + f'In-Reply-To: <a1b2c3d4e5f60012@{OURS}>' + chr(10) + f'References: <a1b2c3d4e5f60012@{OURS}>' + chr(10))}Content-Type: text/plain; charset="UTF-8"

Hallo, ik ben met vakantie tot 15 november en lees mijn mail niet.
""", "Gmail vacation responder (Dutch): Auto-Submitted: auto-replied, Re: subject", "NS-2026-000112")

    add("ooo_vacation_program.eml", "auto_reply", f"""{headers('jan.maes@vzw.example', 'Re: Vraag over een leerling', mid='vacation-1@vzw.example', extra='X-Autoreply: yes' + chr(10) + 'Precedence: junk' + chr(10))}Content-Type: text/plain; charset=us-ascii

I'm away until November 12. Your mail regarding "Vraag over een leerling" will be read when I return.
""", "Unix vacation(1): X-Autoreply, Precedence: junk")

    add("ooo_precedence_bulk.eml", "auto_reply", f"""{headers('info@jeugdhuis.example', 'Bedankt voor uw bericht', mid='bulk-1@jeugdhuis.example', extra='Precedence: bulk' + chr(10))}Content-Type: text/plain; charset=utf-8

Bedankt voor uw bericht. We antwoorden binnen de vijf werkdagen.
""", "automatic acknowledgement with Precedence: bulk")

    add("ooo_afwezig_subject_nl.eml", "auto_reply", f"""{headers('Karim Benali <k.benali@school.example>', 'Afwezig: vraag over leerling', mid='afw-1@school.example')}Content-Type: text/plain; charset=utf-8

Ik ben afwezig wegens ziekte. Uw mail wordt niet doorgestuurd.
""", "Dutch out-of-office recognised by 'Afwezig:' subject")

    add("ooo_out_of_office_en.eml", "auto_reply", f"""{headers('Lisa Smith <lisa.smith@ngo.example>', 'Out of Office: Referral', mid='ooo-en-1@ngo.example')}Content-Type: text/plain; charset=utf-8

I'm currently out of the office and will return on 16 November.
""", "English 'Out of Office:' subject, no headers")

    add("ooo_x_autorespond.eml", "auto_reply", f"""{headers('welzijn@ocmw.example', 'Re: [NS-2026-000113] Melding', mid='autorespond-1@ocmw.example', extra='X-Autorespond: Bedankt' + chr(10))}Content-Type: text/plain; charset=utf-8

Dit is een automatisch antwoord. Uw bericht werd goed ontvangen.
""", "X-Autorespond header", "NS-2026-000113")

    add("auto_generated_ticket_en.eml", "auto_reply", f"""{headers('Helpdesk <helpdesk@city.example>', '[Ticket #88213] We received your request', mid='ticket-88213@city.example', extra='Auto-Submitted: auto-generated' + chr(10))}Content-Type: text/plain; charset=utf-8

Thank you. Your request has been logged as ticket #88213.
""", "helpdesk acknowledgement, Auto-Submitted: auto-generated")

    add("ooo_niet_aanwezig_nl.eml", "auto_reply", f"""{headers('An De Smet <an.desmet@school.example>', 'Niet aanwezig tot maandag', mid='na-1@school.example')}Content-Type: text/plain; charset=utf-8

Ik ben niet aanwezig tot maandag.
""", "Dutch 'Niet aanwezig' subject")

    add("ooo_html_cp1252_nl.eml", "auto_reply", (crlf(f"""{headers('Els Verbruggen <els@school.example>', '=?windows-1252?Q?Automatisch_antwoord:_Vraag_=96_leerling?=', mid='html-ooo-1@school.example', extra='Auto-Submitted: auto-replied' + chr(10))}Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: 8bit

""") + "<html><body><p>Ik ben afwezig \u2013 terug op 10/11. Voor dringende zaken: caf\u00e9 de school.</p></body></html>\r\n".encode("cp1252")),
        "HTML-only Windows-1252 out-of-office")

    add("ooo_in_reply_to_ours.eml", "auto_reply", f"""{headers('Mehmet Yilmaz <mehmet@partner.example>', 'Abwesenheitsnotiz: Ihre Anfrage', mid='abw-1@partner.example', extra='Auto-Submitted: auto-replied' + chr(10) + f'In-Reply-To: <a1b2c3d4e5f60014@{OURS}>' + chr(10))}Content-Type: text/plain; charset=utf-8

Ich bin bis 20.11. nicht im Büro.
""", "German out-of-office answering one of our mails (linked by In-Reply-To)")


# --- replies --------------------------------------------------------------------------------------

def replies() -> None:
    add("reply_subject_ref_quoted_nl.eml", "reply", f"""{headers('An Peeters <an.peeters@atheneum.example.org>', 'Re: [NS-2026-000120] Uw melding is ontvangen', mid='reply-1@atheneum.example.org', extra=f'In-Reply-To: <a1b2c3d4e5f60020@{OURS}>' + chr(10))}Content-Type: text/plain; charset=utf-8

Dag,

Sam was vandaag opnieuw afwezig. Kan iemand contact opnemen met de moeder?

Op ma 2 nov. 2026 om 17:00 schreef Meldpunt NETSTERK <{CP}>:
> Beste,
> we hebben uw melding goed ontvangen.
>> Eerdere vraag
""", "reply with quoted history (Gmail Dutch style)", "NS-2026-000120")

    add("reply_in_reply_to_only.eml", "reply", f"""{headers('Joke Hermans <joke@clb.example>', 'Re: Uw melding', mid='reply-2@clb.example', extra=f'In-Reply-To: <a1b2c3d4e5f60021@{OURS}>' + chr(10) + f'References: <a1b2c3d4e5f60021@{OURS}>' + chr(10))}Content-Type: text/plain; charset=utf-8

Bedankt, ik bel de school morgen.
""", "reply matched only by In-Reply-To to one of our Message-IDs")

    add("reply_outlook_antw.eml", "reply", f"""{headers('Bart Jacobs <b.jacobs@school.example>', 'Antw: NS-2026-000122 vraag om inspanningen', mid='reply-3@school.example')}Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

We hebben drie keer gebeld en een brief gestuurd op 28/10. Geen reactie.

-----Oorspronkelijk bericht-----
Van: Meldpunt NETSTERK <{CP}>
Verzonden: maandag 2 november 2026 17:00
Onderwerp: NS-2026-000122 vraag om inspanningen
""", "Outlook reply (Antw:) with 'Oorspronkelijk bericht' history", "NS-2026-000122")

    add("reply_html_blockquote.eml", "reply", f"""{headers('Nora <nora@jeugdwerk.example>', 'RE: [NS-2026-000123] Inschakeling', mid='reply-4@jeugdwerk.example')}Content-Type: text/html; charset=utf-8

<html><head><style>p {{color: red}}</style><script>alert(1)</script></head><body>
<p>We nemen dit op ons.</p><blockquote><p>Kan uw organisatie deze melding opnemen?</p></blockquote>
</body></html>
""", "HTML-only reply with quoted blockquote; script and style removed", "NS-2026-000123")

    add("reply_windows1252_8bit.eml", "reply", (crlf(f"""{headers('=?windows-1252?Q?Fran=E7oise_Dubois?= <f.dubois@school.example>', '=?windows-1252?Q?Re:_[NS-2026-000124]_=93inspanningen=94?=', mid='reply-5@school.example')}Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: 8bit

""") + "Wij hebben \u2018alles\u2019 geprobeerd \u2013 ook een huisbezoek (caf\u00e9 om de hoek).\r\n".encode("cp1252")),
        "Windows-1252 8-bit body and encoded-word subject", "NS-2026-000124")

    add("reply_fwd_brackets.eml", "reply", f"""{headers('Pieter <pieter@clb.example>', 'Fwd: [NS-2026-000125] Terugkoppeling', mid='reply-6@clb.example')}Content-Type: text/plain; charset=utf-8

Zie hieronder.

---------- Forwarded message ---------
Van: Partner
""", "forwarded with reference in brackets", "NS-2026-000125")

    add("reply_references_only.eml", "reply", f"""{headers('Marc <marc@school.example>', 'Re: vraag', mid='reply-7@school.example', extra=f'References: <other@elsewhere.example> <a1b2c3d4e5f60026@{OURS}>' + chr(10))}Content-Type: text/plain; charset=utf-8

Prima.
""", "reply matched by References only")

    add("reply_iso2022jp.eml", "reply", (crlf(f"""{headers('Yuki <yuki@mail.example>', '=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?= [NS-2026-000127]', mid='reply-8@mail.example')}Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit

""") + "\u3053\u3093\u306b\u3061\u306f\u3002\u3088\u308d\u3057\u304f\u304a\u9858\u3044\u3057\u307e\u3059\u3002\r\n".encode("iso2022_jp")),
        "ISO-2022-JP subject and body", "NS-2026-000127")

    b = "==ATT=="
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    add("reply_with_pdf.eml", "reply", f"""{headers('Directie <directie@school.example>', 'Re: [NS-2026-000128] Inspanningen school', mid='reply-9@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

In bijlage het verslag van het huisbezoek.

--{b}
Content-Type: application/pdf; name="verslag.pdf"
Content-Disposition: attachment; filename="verslag.pdf"
Content-Transfer-Encoding: base64

{base64.encodebytes(pdf).decode()}
--{b}--
""", "reply with a PDF attachment", "NS-2026-000128")

    add("reply_iso88591_qp.eml", "reply", f"""{headers('Wim <wim@partner.example>', 'Re: [NS-2026-000129] Opvolging', mid='reply-10@partner.example')}Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Eerste gesprek gehad met de jongere en zijn moeder. Volgende afspraak: dins=
dag. Ze spreken thuis Frans en Nederlands =E9=E8 =FC.
""", "ISO-8859-1 quoted-printable reply", "NS-2026-000129")

    refs = " ".join(f"<old-{i}@elsewhere.example>" for i in range(300)) + f" <a1b2c3d4e5f60030@{OURS}>"
    add("reply_huge_references.eml", "reply", f"""{headers('Greet <greet@school.example>', 'Re: Re: Re: Re: onze vraag', mid='reply-11@school.example', extra='References: ' + refs + chr(10))}Content-Type: text/plain; charset=utf-8

Nog een aanvulling.
""", "300 References, ours last")

    add("reply_ref_end_of_subject.eml", "reply", f"""{headers('Hilde <hilde@school.example>', 'Vraag over melding NS-2026-000131', mid='reply-12@school.example')}Content-Type: text/plain; charset=utf-8

Is er al nieuws?
""", "reference as the last word of the subject", "NS-2026-000131")


# --- new referrals ---------------------------------------------------------------------------------

def referrals() -> None:
    def simple(name, subject, body, note, *, charset="utf-8", extra="", frm="An Peeters <an.peeters@atheneum.example.org>", cte=None):
        text = f"""{headers(frm, subject, mid=name.replace('.eml', '') + '@sender.example', extra=extra)}Content-Type: text/plain; charset={charset}
""" + (f"Content-Transfer-Encoding: {cte}\n" if cte else "") + "\n" + body
        add(name, "referral", text, note)

    simple("referral_plain_nl.eml", "Zorg over een leerling van het derde middelbaar",
           "Beste,\n\nSam (15) komt sinds oktober onregelmatig naar school. De ouders zijn moeilijk bereikbaar.\n"
           "We belden drie keer en stuurden een brief.\n\nGroeten,\nAn Peeters\nLeerlingbegeleider\n",
           "new concern in Dutch")
    simple("referral_plain_en.eml", "Concern about a pupil", "Hello,\n\nWe are worried about a pupil of 12 who "
           "has not been at school for two weeks. The parents speak English and Arabic.\n\nKind regards\n",
           "new concern in English")
    add("referral_windows1252.eml", "referral", crlf(f"""{headers('Leerlingenbegeleiding <lb@school.example>', 'Melding: leerling 2de graad', mid='ref-cp1252@school.example')}Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: 8bit

""") + "De leerling \u2018spijbelt\u2019 \u2013 vooral op maandag. Ouders: \u00e9\u00e9n gesprek gehad \u20ac.\r\n".encode("cp1252"),
        "Windows-1252 8-bit body")
    simple("referral_iso88591_qp.eml", "=?ISO-8859-1?Q?Zorg_om_Zo=EB?=", "Zo=EB is erg stil in de klas en mist veel lessen. Oudercontact=\n gepland.\n",
           "ISO-8859-1 quoted-printable, encoded subject", charset="ISO-8859-1", cte="quoted-printable")
    add("referral_iso2022jp.eml", "referral", crlf(f"""{headers('Hana <hana@mail.example>', '=?ISO-2022-JP?B?GyRCQWpDTBsoQg==?=', mid='ref-jis@mail.example')}Content-Type: text/plain; charset=ISO-2022-JP

""") + "\u606f\u5b50\u304c\u5b66\u6821\u306b\u884c\u304d\u307e\u305b\u3093\u3002\r\n".encode("iso2022_jp"),
        "ISO-2022-JP body and subject")
    add("referral_invalid_charset.eml", "referral", crlf(f"""{headers('Ouder <ouder@mail.example>', 'Hulp gevraagd', mid='ref-badcs@mail.example')}Content-Type: text/plain; charset="x-no-such-charset"
Content-Transfer-Encoding: 8bit

""") + "Mijn zoon gaat niet meer naar school. Wie kan helpen? \u00e7a va\r\n".encode("utf-8"),
        "unknown charset name; UTF-8 bytes")
    add("referral_wrong_charset.eml", "referral", crlf(f"""{headers('Ouder <ouder2@mail.example>', 'Vraag', mid='ref-wrongcs@mail.example')}Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 8bit

""") + "Onze dochter (14) zit thuis met angst. \u00c9\u00e9n vraag: wat nu?\r\n".encode("utf-8"),
        "declared us-ascii, 8-bit UTF-8 bytes")
    add("referral_missing_headers.eml", "referral", "From: jeugdwerker@jeugdhuis.example\nSubject: jongere in de buurt\n\nEen jongere van 16 hangt elke dag rond het jeugdhuis tijdens de schooluren.\n",
        "no Date, no Message-ID, no To, no MIME headers")
    add("referral_no_from.eml", "referral", f"To: {CP}\nSubject: anoniem\nDate: {DATE}\nMessage-ID: <anon-1@anon.example>\n\nIk maak me zorgen over een buurjongen.\n",
        "no From header")
    received = "".join(f"Received: from relay{i}.example (relay{i}.example [192.0.2.{i % 250}]) by relay{i + 1}.example with ESMTP id X{i:05d}; {DATE}\n" for i in range(1500))
    long_subject = "Zorg " + " ".join(f"woord{i}" for i in range(900))
    add("referral_huge_headers.eml", "referral", received + f"""{headers('School <school@school.example>', long_subject, mid='ref-huge@school.example', extra='X-Long: ' + 'a' * 20000 + chr(10))}Content-Type: text/plain; charset=utf-8

Zie onderwerp.
""", "1500 Received headers, 20 kB header line, 900-word subject")
    add("referral_empty_body.eml", "referral", f"""{headers('leerkracht@school.example', 'Leerling Jonas: zorgen', mid='ref-empty@school.example')}Content-Type: text/plain; charset=utf-8

""", "empty body, subject only")
    b = "==ONLYATT=="
    docx = b"PK\x03\x04\x14\x00\x06\x00" + b"word/document.xml" + bytes(200)
    add("referral_attachment_only.eml", "referral", f"""{headers('secretariaat@school.example', '', mid='ref-attonly@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="aanmelding.docx"
Content-Disposition: attachment; filename="aanmelding.docx"
Content-Transfer-Encoding: base64

{base64.encodebytes(docx).decode()}
--{b}--
""", "only an attachment, empty subject")
    b = "==FWD=="
    add("referral_nested_rfc822.eml", "referral", f"""{headers('Zorgcoordinator <zc@school.example>', 'Fw: zorgen over leerling', mid='ref-nested@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

Zie de mail van de klastitularis hieronder in bijlage.

--{b}
Content-Type: message/rfc822

From: Klastitularis <kt@school.example>
To: zc@school.example
Subject: Jonas
Date: {DATE}
Message-ID: <inner-1@school.example>
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

Jonas was deze week drie dagen afwezig.
--inner
Content-Type: message/rfc822

From: ouder@mail.example
Subject: ziektebriefje
Message-ID: <inner-2@mail.example>

Jonas is ziek.
--inner--

--{b}--
""", "forwarded mail as message/rfc822 with another message nested inside")
    payload = b"Verslag klassenraad: leerling mist motivatie.\n" * 3
    uu = "".join(binascii.b2a_uu(payload[i:i + 45]).decode() for i in range(0, len(payload), 45))
    add("referral_uuencode_inline.eml", "referral", f"""{headers('Oude Client <oud@school.example>', 'verslag', mid='ref-uu@school.example')}
Zie het verslag in bijlage.

begin 644 verslag.txt
{uu}`
end
""", "inline uuencode block in a plain body")
    b = "==XUU=="
    add("referral_x_uuencode_cte.eml", "referral", f"""{headers('Oude Client <oud@school.example>', 'bijlage', mid='ref-xuu@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain

Bijlage via x-uuencode.

--{b}
Content-Type: text/plain; name="notities.txt"
Content-Transfer-Encoding: x-uuencode
Content-Disposition: attachment; filename="notities.txt"

begin 644 notities.txt
{uu}`
end

--{b}--
""", "attachment with Content-Transfer-Encoding: x-uuencode")
    add("referral_html_only.eml", "referral", f"""{headers('CLB <clb@clb.example>', 'Nieuwe melding', mid='ref-html@clb.example')}Content-Type: text/html; charset=utf-8

<html><head><title>x</title><style>body{{font:12px}}</style><script>document.cookie</script></head>
<body><h1>Melding</h1><p>Leerling van 13 &amp; broer van 15: <b>schoolmoe</b>.</p>
<p>Meer info: <a href="https://clb.example/dossier">dossier</a></p><img src="cid:logo" onerror="alert(1)"></body></html>
""", "HTML-only with script/style/img: safe text")
    add("referral_html_meta_latin1.eml", "referral", crlf(f"""{headers('Buurtwerk <buurt@stad.example>', 'Jongere in de wijk', mid='ref-htmlmeta@stad.example')}Content-Type: text/html

""") + "<html><head><meta charset=\"iso-8859-1\"></head><body><p>Een jongere uit de wijk Nekkersp\u00e9l zit niet op school.</p></body></html>\r\n".encode("latin-1"),
        "HTML-only, charset only in a meta tag")
    b = "==NOCLOSE=="
    add("referral_no_close_boundary.eml", "referral", f"""{headers('School <s@school.example>', 'melding', mid='ref-noclose@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

De closing boundary ontbreekt in dit bericht.
""", "multipart without closing boundary")
    b = "==BADB64=="
    add("referral_broken_base64.eml", "referral", f"""{headers('School <s2@school.example>', 'melding met kapotte bijlage', mid='ref-badb64@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

RGl0IGlzIGRlIHRla3N0IHZhbiBkZSBtZWxkaW5n!!!***
--{b}
Content-Type: image/png; name="foto.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo$$$$AAAA
--{b}--
""", "broken base64 in body and attachment")
    b = "==MIS=="
    exe = b"MZ\x90\x00" + bytes(100)
    add("referral_misdeclared_attachments.eml", "referral", f"""{headers('Partner <p@partner.example>', 'verslag en foto', mid='ref-mis@partner.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

Zie bijlagen.

--{b}
Content-Type: application/pdf; name="verslag.pdf"
Content-Disposition: attachment; filename="verslag.pdf"
Content-Transfer-Encoding: base64

{base64.encodebytes(exe).decode()}
--{b}
Content-Type: image/jpeg; name="../../etc/foto.jpg"
Content-Disposition: inline; filename="../../etc/foto.jpg"
Content-Transfer-Encoding: base64

{base64.encodebytes(b'GIF89a' + bytes(30)).decode()}
--{b}--
""", "executable declared as PDF, GIF declared as JPEG with a path in its name")
    add("referral_mbox_from_line.eml", "referral", f"""From an.peeters@atheneum.example.org Tue Nov  3 09:14:00 2026
{headers('An <an.peeters@atheneum.example.org>', 'melding via mbox', mid='ref-mbox@atheneum.example.org')}Content-Type: text/plain; charset=utf-8

Bericht met een mbox From_-regel vooraan.
""", "mbox From_ line before the headers")
    add("referral_leading_garbage.eml", "referral", f"""----- doorgestuurd bericht -----
{headers('Ouder <ouder3@mail.example>', 'hulp', mid='ref-lead@mail.example')}Content-Type: text/plain; charset=utf-8

Mijn dochter wil niet meer naar school.
""", "a line that is no header before the headers")
    simple("referral_mixed_encoded_words.eml", "=?utf-8?B?Wm9yZyBvdmVy?= =?iso-8859-1?Q?_l=E9erling?= =?utf-8?Q?_=E2=80=93_dringend?=",
           "Dringend: leerling dreigt af te haken.\n", "adjacent encoded-words in two charsets")
    b = "==2231=="
    add("referral_rfc2231_filename.eml", "referral", f"""{headers('School <s3@school.example>', 'verslag', mid='ref-2231@school.example')}Content-Type: multipart/mixed; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

Verslag in bijlage.

--{b}
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=utf-8''Verslag%20klassenraad%20;
 filename*1*=%C3%A9%C3%A9n.pdf
Content-Transfer-Encoding: base64

{base64.encodebytes(pdf_bytes()).decode()}
--{b}--
""", "RFC 2231 continued, percent-encoded UTF-8 file name")
    simple("referral_ref_inside_word.eml", "XNS-2026-000140 en NS-2026-000141b zijn geen referenties",
           "Nieuwe zorg, geen antwoord.\n", "reference glued into a longer word does not count")
    simple("referral_ref_too_long.eml", "melding NS-2026-0001420", "Nieuwe zorg.\n",
           "seven digits: not a reference")
    simple("referral_ref_lowercase.eml", "ns-2026-000143 vraag", "Nieuwe zorg.\n", "lower-case prefix: not a reference")
    b = "==ALT=="
    add("referral_multipart_alternative.eml", "referral", f"""{headers('CLB <clb2@clb.example>', 'Aanmelding', mid='ref-alt@clb.example')}Content-Type: multipart/alternative; boundary="{b}"

--{b}
Content-Type: text/plain; charset=utf-8

Platte tekst van de melding.

--{b}
Content-Type: text/html; charset=utf-8

<p>HTML-tekst van de <b>melding</b>.</p>
--{b}--
""", "multipart/alternative: the plain part is used")
    deep = "".join(f'Content-Type: multipart/mixed; boundary="d{i}"\n\n--d{i}\n' for i in range(30))
    deep += "Content-Type: text/plain\n\ndiep verstopt\n" + "".join(f"--d{i}--\n" for i in reversed(range(30)))
    add("referral_deep_nesting.eml", "referral", f"""{headers('s@deep.example', 'diep', mid='ref-deep@deep.example')}{deep}""",
        "30 nested multiparts")
    add("referral_raw_utf8_headers.eml", "referral", f"""{headers('Zoë Mertens <zoe@mail.example>', 'Zorg over Anaïs – dringend', mid='ref-raw8@mail.example')}Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Anaïs (9) komt vaak te laat en zonder ontbijt.
""", "raw 8-bit UTF-8 in From and Subject (no encoded-words)")
    add("referral_message_id_no_brackets.eml", "referral", f"""From: a@b.example
To: {CP}
Subject: melding
Date: {DATE}
Message-ID: no-brackets-123@b.example

Tekst.
""", "Message-ID without angle brackets")
    add("referral_lf_only.eml", "referral", f"""{headers('lf@school.example', 'LF line ends', mid='ref-lf@school.example')}Content-Type: text/plain; charset=utf-8

Alleen LF als regeleinde.
""".encode("utf-8"), "LF line ends instead of CRLF")
    add("referral_bad_date.eml", "referral", f"""{headers('d@school.example', 'datum kapot', mid='ref-date@school.example', date='Tue, 45 Nov 2026 29:99:00 +0100')}Content-Type: text/plain; charset=utf-8

De datum van dit bericht is ongeldig.
""", "invalid Date header")
    add("referral_in_reply_to_foreign.eml", "referral", f"""{headers('x@school.example', 'Re: onze vergadering', mid='ref-foreign@school.example', extra='In-Reply-To: <meeting-1@school.example>' + chr(10))}Content-Type: text/plain; charset=utf-8

Na de vergadering: we melden een leerling aan.
""", "Re: subject but In-Reply-To a mail that is not ours: a new concern")


def pdf_bytes() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


def unprocessable() -> None:
    rng = random.Random(20261103)
    add("garbage_binary.eml", "unprocessable", bytes(rng.randrange(256) for _ in range(4096)), "random bytes")
    add("garbage_text.eml", "unprocessable", b"dit is geen e-mail\nmaar gewoon tekst\nzonder kopregels\n", "plain text without any header")
    add("empty.eml", "unprocessable", b"", "empty file")
    add("blank_lines.eml", "unprocessable", b"\r\n\r\n\r\n", "only blank lines")


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    bounces()
    auto_replies()
    replies()
    referrals()
    unprocessable()
    lines = ["file\texpected_kind\texpected_reference\tnote"]
    lines += ["\t".join(entry) for entry in ENTRIES]
    (HERE / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(ENTRIES)} messages written to {HERE}")


if __name__ == "__main__":
    main()
