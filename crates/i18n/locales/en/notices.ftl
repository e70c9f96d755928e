## What a page says after a change, and the short pages that say one thing.

notice-team-created = Team created.
notice-settings-saved = Settings saved.
notice-member-added = Member added.
notice-member-removed = Member removed.
notice-mailbox-routed = The support address now delivers to the chosen team.
notice-invited = Invitation sent.
notice-sessions-ended = Their sessions were ended.
notice-staff-disabled = Account disabled; its sessions were ended.
notice-role-changed = Role changed; their sessions were ended, so it applies from their next sign-in.
notice-factors-reset = Their second factors were removed and their sessions ended; they were told by mail and set up a new factor at their next sign-in.
notice-account-created = Account created.
notice-field-added = Field added.
notice-field-saved = Field saved.
notice-field-retired = Field retired; tickets keep the values they had.
notice-desk-settings-saved = Settings saved; they apply from the next request.
notice-customer-created = Customer created; their invitation was mailed to them.
notice-saved = Saved.
notice-customer-disabled = Account disabled; its sessions and API tokens were ended.
notice-customers-merged = Merged: their tickets are this customer's now, and mail from the other address arrives here.
notice-password-changed = Password changed. You were signed out everywhere else.
role-choice-agent = Agent
role-choice-light_agent = Light agent (internal notes only)
role-choice-supervisor = Supervisor
role-choice-auditor = Auditor
role-choice-admin = Administrator
channel-off = Off
channel-in_app = In Palisade only
channel-email = Email at once
channel-digest = Hourly digest

bulk-nothing-title = Nothing changed
bulk-nothing = Tick the tickets to change in the list and choose what to change.
bulk-not-seen = A ticket you may not see was not changed.
bulk-not-allowed = A ticket you may not change this way was not changed.
bulk-invalid = A ticket was not changed: { $name }.
bulk-changed = { $count ->
    [one] 1 ticket changed.
   *[other] { $count } tickets changed.
}
bulk-back-short = Back to the tickets

link-invalid-title = Link not valid
link-invalid-confirm = This link is invalid, has expired or was already used. If you wrote to us, our replies still come to your email address.
link-invalid-setup = This link is invalid, has expired or was already used. Ask an administrator for a new one.
link-help-centre = Help centre
link-sign-in = Sign in
confirm-thanks-title = Thank you
confirm-thanks = Your message is in your account now, with our replies as they come. Sign in to follow it.
confirm-open = Open it
password-saved-title = Password saved
password-saved = Your password is set. Sign in to continue.
password-rejected = Password rejected: { $name }.
welcome-link-broken = This link does not work
welcome-invalid = Give your name and a valid email address.

error-title = Something went wrong
error-reference = Something went wrong on our side (reference { $name }).
error-back = Back to tickets
login-invalid = Invalid email or password.
login-too-many = Too many sign-in attempts from your network. Try again in { $count } seconds.
code-missing = Enter a code.
code-refused = That code was not accepted. Codes work once; wait for the next one.
too-many-attempts = Too many attempts. Try again in { $count } seconds.
totp-mismatch = That code did not match. Check the time on your device and try the next code.
stepup-mismatch = That did not match. Check your password and code.
sso-failed = Single sign-on did not complete. Start again, or sign in with your password.
handover-tick = Tick the box to confirm the handover.
file-too-large = A file is larger than this desk accepts ({ $count } KiB at most).
reply-too-many-files = At most { $count } files go with one reply.
scan-waiting = Some files are being scanned for malware; they can be downloaded once they are found clean. Reload in a moment.
scan-down = The malware scanner is not answering: files wait for it and cannot be downloaded until it is back. Your administrator has been told in the server log.
scan-unscanned = not scanned for malware
scan-awaiting = waiting for the malware scan
fields-stale = Someone changed this ticket while you were editing its fields; nothing was saved. Here it is as it is now.
relations-no-ticket = No ticket you may change has that number.
bulk-changed-some = { $count ->
    [one] 1 ticket changed
   *[other] { $count } tickets changed
}; { $other } not changed.
notification-new_ticket = New ticket in your team
notification-customer_reply = Customer replied
notification-assigned = Assigned to you
notification-service_level = A service-level target is at risk or missed
notification-rule = A rule asked for your attention
notification-mention = You were mentioned in a note
notice-levels-saved = Service levels saved; the targets of open tickets follow.
