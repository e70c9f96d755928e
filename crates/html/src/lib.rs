//! The one place HTML written elsewhere is made safe to show in Palisade's pages:
//! help-centre articles (written by staff, read by anyone the audience allows) and
//! the HTML of received mail (written by anyone, read by agents). Both go through the
//! same ammonia allow-list ([`article`]); mail adds its own rules on links and
//! images ([`mail`]).

pub mod article;
pub mod mail;

pub use article::{
    html_to_text, is_invisible, sanitize_article_html, sanitize_article_html_for, strip_invisible,
};
pub use mail::{REMOTE_IMAGE_PLACEHOLDER, sanitize_mail_html};
