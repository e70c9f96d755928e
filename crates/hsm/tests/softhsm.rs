//! The wrapping key in SoftHSM v2: it seals and opens inside the token, its value
//! cannot be read out, and what it sealed opens only with the same associated data
//! and untampered. A wrong PIN, a missing key and a planted key that could leave the
//! token are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use palisade_crypto::{ExternalWrappingKey, Keyring, MasterKey};
use palisade_hsm::{HsmError, HsmSettings, HsmWrappingKey, generate};
use palisade_testkit::softhsm::Token;
use std::sync::Arc;
use zeroize::Zeroizing;

fn settings(token: &Token, key: &str) -> HsmSettings {
    HsmSettings {
        module: token.module.clone(),
        token_label: token.label.clone(),
        key_label: key.into(),
        previous_key_labels: Vec::new(),
        pin: Zeroizing::new(token.pin.clone()),
    }
}

#[test]
fn the_token_key_wraps_inside_the_token_and_never_comes_out() {
    let token = Token::init("wrap").unwrap();
    let config = settings(&token, "palisade-wrapping");
    assert!(matches!(HsmWrappingKey::open(&config), Err(HsmError::NoKey(_))));
    let id = generate(&config).unwrap();
    assert!(
        matches!(generate(&config), Err(HsmError::KeyExists(_))),
        "never a second key under one label"
    );

    let key = HsmWrappingKey::open(&config).unwrap();
    assert_eq!(key.id(), id);
    assert!(
        !key.value_is_readable(),
        "the token must not hand out the key's value"
    );
    let sealed = key.seal(b"a data key of 32 bytes..........", b"aad-1").unwrap();
    assert_eq!(sealed[0], 2);
    assert_eq!(
        &key.open(&sealed, b"aad-1").unwrap()[..],
        b"a data key of 32 bytes.........."
    );
    assert!(key.open(&sealed, b"aad-2").is_err(), "moved to another row");
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(key.open(&tampered, b"aad-1").is_err(), "altered");

    // Beside the file's key in a keyring: new data keys go into the token, old ones
    // (wrapped by the file) still open, and the file alone opens nothing the token sealed.
    let master = MasterKey::generate().unwrap();
    let file_only = Keyring::new(&master);
    let data_key = palisade_crypto::DataKey::generate().unwrap();
    let old = file_only.wrap(&data_key, "dk_old").unwrap();
    let ring = Keyring::with_external(&master, Arc::new(key));
    assert_eq!(ring.kek_id(), id);
    assert_eq!(ring.previous_kek_ids(), vec![file_only.kek_id().to_owned()]);
    let (new, used) = ring.wrap_tagged(&data_key, "dk_new").unwrap();
    assert_eq!(used, id);
    assert!(ring.unwrap(&old, "dk_old").is_ok());
    assert!(ring.unwrap(&new, "dk_new").is_ok());
    assert!(file_only.unwrap(&new, "dk_new").is_err());
}

#[test]
fn a_wrong_pin_a_missing_token_and_a_key_that_could_leave_the_token_are_refused() {
    let token = Token::init("refuse").unwrap();
    let mut wrong = settings(&token, "palisade-wrapping");
    wrong.pin = Zeroizing::new("not-the-pin".into());
    assert!(matches!(HsmWrappingKey::open(&wrong), Err(HsmError::Login)));
    let mut elsewhere = settings(&token, "palisade-wrapping");
    elsewhere.token_label = "no-such-token".into();
    assert!(matches!(
        HsmWrappingKey::open(&elsewhere),
        Err(HsmError::NoToken(_))
    ));

    // Someone with the PIN plants an extractable key under the expected label.
    let module = Pkcs11::new(&token.module).unwrap();
    let _ = module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = module
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| module.get_token_info(*s).unwrap().label() == token.label)
        .unwrap();
    let session = module.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(token.pin.as_str())))
        .unwrap();
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::ValueLen(32u64.into()),
                Attribute::Label(b"palisade-wrapping".to_vec()),
                Attribute::Id(vec![1, 2, 3, 4, 5, 6, 7, 8]),
            ],
        )
        .unwrap();
    let planted = HsmWrappingKey::open(&settings(&token, "palisade-wrapping"));
    assert!(matches!(planted, Err(HsmError::WeakKey(_))), "{planted:?}");

    // A sensitive, non-extractable key that was imported (its value known to whoever
    // imported it) is refused too.
    session
        .create_object(&[
            Attribute::Class(cryptoki::object::ObjectClass::SECRET_KEY),
            Attribute::KeyType(cryptoki::object::KeyType::AES),
            Attribute::Value(vec![7; 32]),
            Attribute::Token(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(b"imported".to_vec()),
            Attribute::Id(vec![9; 8]),
        ])
        .unwrap();
    let imported = HsmWrappingKey::open(&settings(&token, "imported"));
    assert!(matches!(imported, Err(HsmError::WeakKey(_))), "{imported:?}");

    // Two keys under one label: which one a token returns is not defined, so neither.
    let twice = settings(&token, "twice");
    generate(&twice).unwrap();
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::ValueLen(32u64.into()),
                Attribute::Label(b"twice".to_vec()),
                Attribute::Id(vec![3; 8]),
            ],
        )
        .unwrap();
    assert!(matches!(HsmWrappingKey::open(&twice), Err(HsmError::WeakKey(_))));
}
