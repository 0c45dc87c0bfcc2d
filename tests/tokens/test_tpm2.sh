#!/usr/bin/env bash
# qs-jwt on a TPM 2.0: tpm2-pkcs11 1.9 (loaded by path from a private copy,
# never registered with p11-kit) on swtpm, through tpm2-abrmd. Every
# signature is verified with openssl; the token's objects are read with
# pkcs11-tool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"

tpm_new tpm 2468-tpm
TK_MODULE=$TPM_MODULE TK_LABEL=tpm TK_PIN=2468-tpm TK_PINF=$TPM_PINF TK_OBJECTS=tk_objects
# tpm2-pkcs11 reports CKM_RSA_PKCS_KEY_PAIR_GEN up to 3072 bits.
TK_BITS=3072

tk_setup
case_list_tokens
assert_contains "$OUT" "manufacturer: IBM"
case_cert_create
assert_log INFO "token 'tpm' makes RSA keys of at most 3072 bits; using 3072"
assert_log VERBOSE "token 'tpm' refused the public key template (CKR_GENERAL_ERROR); generating again without CKA_VERIFY, CKA_ENCRYPT and CKA_WRAP on the public key"
case_key_attributes
case_list_keys
# tpm2-pkcs11 1.9 has CKM_SHA256_RSA_PKCS.
case_sign "token 'tpm' signs RS256 with CKM_SHA256_RSA_PKCS"
case_decode
case_batch
# tpm2-pkcs11 takes 1024 sessions (MAX_NUM_OF_SESSIONS, src/lib/session.h),
# one of them the login's.
case_batch_default "key 'jwt' on token 'tpm': the token takes 1023 more sessions at a time"
case_wrong_pin
case_create_cert_existing
case_duplicate_and_sigint

finish
