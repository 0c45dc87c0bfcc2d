/*
 * A PKCS#11 module whose C_Initialize fails (CKR_GENERAL_ERROR), for the
 * hardening tests (tests/hardening/test_faults.sh): qs-jwt must report the
 * module and the CKR_* name, exit 4, and print nothing on stdout.
 *
 * C_GetFunctionList is the only exported symbol; C_Finalize and C_GetInfo
 * answer trivially, every other entry returns CKR_FUNCTION_NOT_SUPPORTED.
 * The stubs carry the exact prototypes of <p11-kit/pkcs11.h> (CRYPTOKI_GNU
 * names), so no call goes through a mismatched function pointer.
 */
#define CRYPTOKI_GNU 1
#include <string.h>

#include <p11-kit/pkcs11.h>

static ck_rv_t bad_Initialize(void *init_args)
{
	(void)init_args;
	return CKR_GENERAL_ERROR;
}

static ck_rv_t bad_Finalize(void *reserved)
{
	(void)reserved;
	return CKR_OK;
}

/* Blank-padded, not NUL-terminated (PKCS#11 2.40 section 3.1). */
static void pad(unsigned char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', size);
	memcpy(dst, src, n < size ? n : size);
}

static ck_rv_t bad_GetInfo(struct ck_info *info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	info->cryptoki_version.major = CRYPTOKI_VERSION_MAJOR;
	info->cryptoki_version.minor = CRYPTOKI_VERSION_MINOR;
	pad(info->manufacturer_id, sizeof(info->manufacturer_id), "qs-jwt tests");
	pad(info->library_description, sizeof(info->library_description),
	    "C_Initialize always fails");
	info->library_version.major = 1;
	return CKR_OK;
}

static ck_rv_t bad_GetSlotList(unsigned char token_present, ck_slot_id_t *slot_list,
			       unsigned long *count)
{
	(void)token_present;
	(void)slot_list;
	(void)count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetSlotInfo(ck_slot_id_t slot_id, struct ck_slot_info *info)
{
	(void)slot_id;
	(void)info;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetTokenInfo(ck_slot_id_t slot_id, struct ck_token_info *info)
{
	(void)slot_id;
	(void)info;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_WaitForSlotEvent(ck_flags_t flags, ck_slot_id_t *slot, void *reserved)
{
	(void)flags;
	(void)slot;
	(void)reserved;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetMechanismList(ck_slot_id_t slot_id, ck_mechanism_type_t *mechanism_list,
				    unsigned long *count)
{
	(void)slot_id;
	(void)mechanism_list;
	(void)count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetMechanismInfo(ck_slot_id_t slot_id, ck_mechanism_type_t type,
				    struct ck_mechanism_info *info)
{
	(void)slot_id;
	(void)type;
	(void)info;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_InitToken(ck_slot_id_t slot_id, unsigned char *pin, unsigned long pin_len,
			     unsigned char *label)
{
	(void)slot_id;
	(void)pin;
	(void)pin_len;
	(void)label;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_InitPIN(ck_session_handle_t session, unsigned char *pin, unsigned long pin_len)
{
	(void)session;
	(void)pin;
	(void)pin_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SetPIN(ck_session_handle_t session, unsigned char *old_pin,
			  unsigned long old_len, unsigned char *new_pin, unsigned long new_len)
{
	(void)session;
	(void)old_pin;
	(void)old_len;
	(void)new_pin;
	(void)new_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_OpenSession(ck_slot_id_t slot_id, ck_flags_t flags, void *application,
			       ck_notify_t notify, ck_session_handle_t *session)
{
	(void)slot_id;
	(void)flags;
	(void)application;
	(void)notify;
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_CloseSession(ck_session_handle_t session)
{
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_CloseAllSessions(ck_slot_id_t slot_id)
{
	(void)slot_id;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetSessionInfo(ck_session_handle_t session, struct ck_session_info *info)
{
	(void)session;
	(void)info;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetOperationState(ck_session_handle_t session, unsigned char *operation_state,
				     unsigned long *operation_state_len)
{
	(void)session;
	(void)operation_state;
	(void)operation_state_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SetOperationState(ck_session_handle_t session, unsigned char *operation_state,
				     unsigned long operation_state_len,
				     ck_object_handle_t encryption_key,
				     ck_object_handle_t authentiation_key)
{
	(void)session;
	(void)operation_state;
	(void)operation_state_len;
	(void)encryption_key;
	(void)authentiation_key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Login(ck_session_handle_t session, ck_user_type_t user_type, unsigned char *pin,
			 unsigned long pin_len)
{
	(void)session;
	(void)user_type;
	(void)pin;
	(void)pin_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Logout(ck_session_handle_t session)
{
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_CreateObject(ck_session_handle_t session, struct ck_attribute *templ,
				unsigned long count, ck_object_handle_t *object)
{
	(void)session;
	(void)templ;
	(void)count;
	(void)object;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_CopyObject(ck_session_handle_t session, ck_object_handle_t object,
			      struct ck_attribute *templ, unsigned long count,
			      ck_object_handle_t *new_object)
{
	(void)session;
	(void)object;
	(void)templ;
	(void)count;
	(void)new_object;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DestroyObject(ck_session_handle_t session, ck_object_handle_t object)
{
	(void)session;
	(void)object;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetObjectSize(ck_session_handle_t session, ck_object_handle_t object,
				 unsigned long *size)
{
	(void)session;
	(void)object;
	(void)size;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetAttributeValue(ck_session_handle_t session, ck_object_handle_t object,
				     struct ck_attribute *templ, unsigned long count)
{
	(void)session;
	(void)object;
	(void)templ;
	(void)count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SetAttributeValue(ck_session_handle_t session, ck_object_handle_t object,
				     struct ck_attribute *templ, unsigned long count)
{
	(void)session;
	(void)object;
	(void)templ;
	(void)count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_FindObjectsInit(ck_session_handle_t session, struct ck_attribute *templ,
				   unsigned long count)
{
	(void)session;
	(void)templ;
	(void)count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_FindObjects(ck_session_handle_t session, ck_object_handle_t *object,
			       unsigned long max_object_count, unsigned long *object_count)
{
	(void)session;
	(void)object;
	(void)max_object_count;
	(void)object_count;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_FindObjectsFinal(ck_session_handle_t session)
{
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_EncryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
			       ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Encrypt(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
			   unsigned char *encrypted_data, unsigned long *encrypted_data_len)
{
	(void)session;
	(void)data;
	(void)data_len;
	(void)encrypted_data;
	(void)encrypted_data_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_EncryptUpdate(ck_session_handle_t session, unsigned char *part,
				 unsigned long part_len, unsigned char *encrypted_part,
				 unsigned long *encrypted_part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	(void)encrypted_part;
	(void)encrypted_part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_EncryptFinal(ck_session_handle_t session, unsigned char *last_encrypted_part,
				unsigned long *last_encrypted_part_len)
{
	(void)session;
	(void)last_encrypted_part;
	(void)last_encrypted_part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DecryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
			       ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Decrypt(ck_session_handle_t session, unsigned char *encrypted_data,
			   unsigned long encrypted_data_len, unsigned char *data,
			   unsigned long *data_len)
{
	(void)session;
	(void)encrypted_data;
	(void)encrypted_data_len;
	(void)data;
	(void)data_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DecryptUpdate(ck_session_handle_t session, unsigned char *encrypted_part,
				 unsigned long encrypted_part_len, unsigned char *part,
				 unsigned long *part_len)
{
	(void)session;
	(void)encrypted_part;
	(void)encrypted_part_len;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DecryptFinal(ck_session_handle_t session, unsigned char *last_part,
				unsigned long *last_part_len)
{
	(void)session;
	(void)last_part;
	(void)last_part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DigestInit(ck_session_handle_t session, struct ck_mechanism *mechanism)
{
	(void)session;
	(void)mechanism;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Digest(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
			  unsigned char *digest, unsigned long *digest_len)
{
	(void)session;
	(void)data;
	(void)data_len;
	(void)digest;
	(void)digest_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DigestUpdate(ck_session_handle_t session, unsigned char *part,
				unsigned long part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DigestKey(ck_session_handle_t session, ck_object_handle_t key)
{
	(void)session;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DigestFinal(ck_session_handle_t session, unsigned char *digest,
			       unsigned long *digest_len)
{
	(void)session;
	(void)digest;
	(void)digest_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
			    ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Sign(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
			unsigned char *signature, unsigned long *signature_len)
{
	(void)session;
	(void)data;
	(void)data_len;
	(void)signature;
	(void)signature_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignUpdate(ck_session_handle_t session, unsigned char *part,
			      unsigned long part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignFinal(ck_session_handle_t session, unsigned char *signature,
			     unsigned long *signature_len)
{
	(void)session;
	(void)signature;
	(void)signature_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignRecoverInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
				   ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignRecover(ck_session_handle_t session, unsigned char *data,
			       unsigned long data_len, unsigned char *signature,
			       unsigned long *signature_len)
{
	(void)session;
	(void)data;
	(void)data_len;
	(void)signature;
	(void)signature_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_VerifyInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
			      ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_Verify(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
			  unsigned char *signature, unsigned long signature_len)
{
	(void)session;
	(void)data;
	(void)data_len;
	(void)signature;
	(void)signature_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_VerifyUpdate(ck_session_handle_t session, unsigned char *part,
				unsigned long part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_VerifyFinal(ck_session_handle_t session, unsigned char *signature,
			       unsigned long signature_len)
{
	(void)session;
	(void)signature;
	(void)signature_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_VerifyRecoverInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
				     ck_object_handle_t key)
{
	(void)session;
	(void)mechanism;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_VerifyRecover(ck_session_handle_t session, unsigned char *signature,
				 unsigned long signature_len, unsigned char *data,
				 unsigned long *data_len)
{
	(void)session;
	(void)signature;
	(void)signature_len;
	(void)data;
	(void)data_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DigestEncryptUpdate(ck_session_handle_t session, unsigned char *part,
				       unsigned long part_len, unsigned char *encrypted_part,
				       unsigned long *encrypted_part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	(void)encrypted_part;
	(void)encrypted_part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DecryptDigestUpdate(ck_session_handle_t session, unsigned char *encrypted_part,
				       unsigned long encrypted_part_len, unsigned char *part,
				       unsigned long *part_len)
{
	(void)session;
	(void)encrypted_part;
	(void)encrypted_part_len;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SignEncryptUpdate(ck_session_handle_t session, unsigned char *part,
				     unsigned long part_len, unsigned char *encrypted_part,
				     unsigned long *encrypted_part_len)
{
	(void)session;
	(void)part;
	(void)part_len;
	(void)encrypted_part;
	(void)encrypted_part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DecryptVerifyUpdate(ck_session_handle_t session, unsigned char *encrypted_part,
				       unsigned long encrypted_part_len, unsigned char *part,
				       unsigned long *part_len)
{
	(void)session;
	(void)encrypted_part;
	(void)encrypted_part_len;
	(void)part;
	(void)part_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GenerateKey(ck_session_handle_t session, struct ck_mechanism *mechanism,
			       struct ck_attribute *templ, unsigned long count,
			       ck_object_handle_t *key)
{
	(void)session;
	(void)mechanism;
	(void)templ;
	(void)count;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GenerateKeyPair(ck_session_handle_t session, struct ck_mechanism *mechanism,
				   struct ck_attribute *public_key_template,
				   unsigned long public_key_attribute_count,
				   struct ck_attribute *private_key_template,
				   unsigned long private_key_attribute_count,
				   ck_object_handle_t *public_key, ck_object_handle_t *private_key)
{
	(void)session;
	(void)mechanism;
	(void)public_key_template;
	(void)public_key_attribute_count;
	(void)private_key_template;
	(void)private_key_attribute_count;
	(void)public_key;
	(void)private_key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_WrapKey(ck_session_handle_t session, struct ck_mechanism *mechanism,
			   ck_object_handle_t wrapping_key, ck_object_handle_t key,
			   unsigned char *wrapped_key, unsigned long *wrapped_key_len)
{
	(void)session;
	(void)mechanism;
	(void)wrapping_key;
	(void)key;
	(void)wrapped_key;
	(void)wrapped_key_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_UnwrapKey(ck_session_handle_t session, struct ck_mechanism *mechanism,
			     ck_object_handle_t unwrapping_key, unsigned char *wrapped_key,
			     unsigned long wrapped_key_len, struct ck_attribute *templ,
			     unsigned long attribute_count, ck_object_handle_t *key)
{
	(void)session;
	(void)mechanism;
	(void)unwrapping_key;
	(void)wrapped_key;
	(void)wrapped_key_len;
	(void)templ;
	(void)attribute_count;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_DeriveKey(ck_session_handle_t session, struct ck_mechanism *mechanism,
			     ck_object_handle_t base_key, struct ck_attribute *templ,
			     unsigned long attribute_count, ck_object_handle_t *key)
{
	(void)session;
	(void)mechanism;
	(void)base_key;
	(void)templ;
	(void)attribute_count;
	(void)key;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_SeedRandom(ck_session_handle_t session, unsigned char *seed,
			      unsigned long seed_len)
{
	(void)session;
	(void)seed;
	(void)seed_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GenerateRandom(ck_session_handle_t session, unsigned char *random_data,
				  unsigned long random_len)
{
	(void)session;
	(void)random_data;
	(void)random_len;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_GetFunctionStatus(ck_session_handle_t session)
{
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static ck_rv_t bad_CancelFunction(ck_session_handle_t session)
{
	(void)session;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static struct ck_function_list bad_functions;

ck_rv_t C_GetFunctionList(struct ck_function_list **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &bad_functions;
	return CKR_OK;
}

static struct ck_function_list bad_functions = {
    .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
    .C_Initialize = bad_Initialize,
    .C_Finalize = bad_Finalize,
    .C_GetInfo = bad_GetInfo,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetSlotList = bad_GetSlotList,
    .C_GetSlotInfo = bad_GetSlotInfo,
    .C_GetTokenInfo = bad_GetTokenInfo,
    .C_WaitForSlotEvent = bad_WaitForSlotEvent,
    .C_GetMechanismList = bad_GetMechanismList,
    .C_GetMechanismInfo = bad_GetMechanismInfo,
    .C_InitToken = bad_InitToken,
    .C_InitPIN = bad_InitPIN,
    .C_SetPIN = bad_SetPIN,
    .C_OpenSession = bad_OpenSession,
    .C_CloseSession = bad_CloseSession,
    .C_CloseAllSessions = bad_CloseAllSessions,
    .C_GetSessionInfo = bad_GetSessionInfo,
    .C_GetOperationState = bad_GetOperationState,
    .C_SetOperationState = bad_SetOperationState,
    .C_Login = bad_Login,
    .C_Logout = bad_Logout,
    .C_CreateObject = bad_CreateObject,
    .C_CopyObject = bad_CopyObject,
    .C_DestroyObject = bad_DestroyObject,
    .C_GetObjectSize = bad_GetObjectSize,
    .C_GetAttributeValue = bad_GetAttributeValue,
    .C_SetAttributeValue = bad_SetAttributeValue,
    .C_FindObjectsInit = bad_FindObjectsInit,
    .C_FindObjects = bad_FindObjects,
    .C_FindObjectsFinal = bad_FindObjectsFinal,
    .C_EncryptInit = bad_EncryptInit,
    .C_Encrypt = bad_Encrypt,
    .C_EncryptUpdate = bad_EncryptUpdate,
    .C_EncryptFinal = bad_EncryptFinal,
    .C_DecryptInit = bad_DecryptInit,
    .C_Decrypt = bad_Decrypt,
    .C_DecryptUpdate = bad_DecryptUpdate,
    .C_DecryptFinal = bad_DecryptFinal,
    .C_DigestInit = bad_DigestInit,
    .C_Digest = bad_Digest,
    .C_DigestUpdate = bad_DigestUpdate,
    .C_DigestKey = bad_DigestKey,
    .C_DigestFinal = bad_DigestFinal,
    .C_SignInit = bad_SignInit,
    .C_Sign = bad_Sign,
    .C_SignUpdate = bad_SignUpdate,
    .C_SignFinal = bad_SignFinal,
    .C_SignRecoverInit = bad_SignRecoverInit,
    .C_SignRecover = bad_SignRecover,
    .C_VerifyInit = bad_VerifyInit,
    .C_Verify = bad_Verify,
    .C_VerifyUpdate = bad_VerifyUpdate,
    .C_VerifyFinal = bad_VerifyFinal,
    .C_VerifyRecoverInit = bad_VerifyRecoverInit,
    .C_VerifyRecover = bad_VerifyRecover,
    .C_DigestEncryptUpdate = bad_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = bad_DecryptDigestUpdate,
    .C_SignEncryptUpdate = bad_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = bad_DecryptVerifyUpdate,
    .C_GenerateKey = bad_GenerateKey,
    .C_GenerateKeyPair = bad_GenerateKeyPair,
    .C_WrapKey = bad_WrapKey,
    .C_UnwrapKey = bad_UnwrapKey,
    .C_DeriveKey = bad_DeriveKey,
    .C_SeedRandom = bad_SeedRandom,
    .C_GenerateRandom = bad_GenerateRandom,
    .C_GetFunctionStatus = bad_GetFunctionStatus,
    .C_CancelFunction = bad_CancelFunction,
};
